-- wrk script: rotate through the request paths in the file named after `--`, so each
-- request of a scenario asks for a different order, phone or filter, and count every
-- answer that is not 2xx (wrk itself counts only 4xx/5xx, but a redirect to the login
-- page is a failure too).

-- status.lua sits beside this script; wrk is given this script's absolute path.
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "status.lua")

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
  count_status(status)
end

function done(summary, latency, requests)
  report_status(threads)
end
