-- wrk script for the agent action: every wrk thread is one agent with its own session.
-- It posts the outcome of the call it holds and reads the next card (order id and
-- version) from the answer, exactly as the call screen does; "Next call" when idle.

-- status.lua sits beside this script; wrk is given this script's absolute path.
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "status.lua")

local creds = {}
local threads = {}

local OUTCOMES = {
  "outcome=confirmed", "outcome=no_answer", "outcome=confirmed",
  "outcome=canceled&reason=Changed+their+mind", "outcome=no_answer",
  "outcome=call_later&callback=1h", "outcome=confirmed", "outcome=fake&reason=Prank",
}

function setup(thread)
  if #creds == 0 then
    for line in io.lines(os.getenv("BENCH_AGENTS_FILE")) do
      local cookie, csrf = string.match(line, "^(%S+) (%S+)$")
      if cookie then creds[#creds + 1] = {cookie = cookie, csrf = csrf} end
    end
  end
  local me = creds[#threads % #creds + 1]
  thread:set("cookie", me.cookie)
  thread:set("csrf", me.csrf)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  order_id, version, n, bad, codes, conflicts = nil, nil, 0, 0, {}, 0
  headers = {
    ["Cookie"] = "session=" .. cookie, ["X-CSRFToken"] = csrf, ["HX-Request"] = "true",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
end

function request()
  if order_id == nil then
    return wrk.format("POST", "/calls/next", headers, "")
  end
  n = n + 1
  local pick = OUTCOMES[(n + offset) % #OUTCOMES + 1]
  return wrk.format("POST", "/calls/" .. order_id .. "/outcome", headers,
                    "version=" .. version .. "&" .. pick)
end

function response(status, hdrs, body)
  if status == 409 then conflicts = conflicts + 1 else count_status(status) end
  order_id = string.match(body, 'data%-order="(%d+)"')
  version = string.match(body, 'name="version" value="(%d+)"')
  if not version then order_id = nil end
end

function done(summary, latency, requests)
  report_status(threads)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("conflicts") end
  io.write(string.format("bench-agents conflicts=%d\n", total))
end
