-- wrk script for the orders API: every request is a new order of the benchmark channel.
-- bench/intake.py writes the file named after `--`: a first line "run <token>", then one
-- JSON order a line with "@ID@" where its external id goes. Each thread cycles through
-- all the orders and gives every request an id of its own, "<token>-<thread>-<n>", so
-- no order is sent twice (a repeated id would answer 200, which counts as a failure).
-- The key comes from BENCH_API_KEY, the path from BENCH_API_PATH.

-- status.lua sits beside this script; wrk is given this script's absolute path.
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "status.lua")

local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  path = os.getenv("BENCH_API_PATH")
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_API_KEY"),
  }
  heads, tails, index, sent = {}, {}, 0, 0
  created, other, other_codes, bad, codes = 0, 0, {}, 0, {}
  local token
  for line in io.lines(args[1]) do
    if not token then
      token = string.match(line, "^run (%S+)$")
    else
      local head, tail = string.match(line, "^(.-)@ID@(.*)$")
      if head then
        heads[#heads + 1], tails[#tails + 1] = head, tail
      end
    end
  end
  assert(token and #heads > 0, "no orders in " .. tostring(args[1]))
  prefix = token .. "-" .. offset .. "-"
end

function request()
  index = index % #heads + 1
  sent = sent + 1
  return wrk.format("POST", path, headers, heads[index] .. prefix .. sent .. tails[index])
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  else
    other = other + 1
    other_codes[status] = (other_codes[status] or 0) + 1
  end
  count_status(status)
end

function done(summary, latency, requests)
  report_status(threads)
  local c, o, merged = 0, 0, {}
  for _, thread in ipairs(threads) do
    c = c + thread:get("created")
    o = o + thread:get("other")
    for status, count in pairs(thread:get("other_codes")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    parts[#parts + 1] = status .. ":" .. count
  end
  io.write(string.format("bench-api created=%d other=%d codes=%s\n", c, o,
                         table.concat(parts, ",")))
end
