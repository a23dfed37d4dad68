-- wrk script: rotate through the request paths in the file named after `--`, so each
-- request of a scenario asks for a different order, phone or filter, and count every
-- answer that is not 2xx (wrk itself counts only 4xx/5xx, but a redirect to the login
-- page is a failure too).

local threads = {}
local requests = {}
local index = 0

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", line)
    end
  end
  assert(#requests > 0, "no request paths in " .. tostring(args[1]))
  -- Threads start at different places so they do not ask for the same paths in step.
  index = (offset * 7919) % #requests
  bad = 0
  codes = {}
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
    codes[status] = (codes[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total, merged = 0, {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("bad")
    for status, count in pairs(thread:get("codes")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    parts[#parts + 1] = status .. ":" .. count
  end
  io.write(string.format("bench-status non2xx=%d codes=%s\n", total, table.concat(parts, ",")))
end
