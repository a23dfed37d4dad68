-- wrk script for the webhook intake: every request is another signed sandbox delivery.
-- wrk cannot compute an HMAC, so bench/shipping.py writes the deliveries beforehand into
-- the file named after `--`, one a line: "<delivery id>\t<signature>\t<body>". Each
-- thread keeps its own slice (line i goes to thread i mod BENCH_WEBHOOK_THREADS), so no
-- delivery is sent twice in a run unless a slice runs out; it then starts over, the
-- repeats answer 200 (duplicate) and the count of slices used up is reported.

-- status.lua sits beside this script; wrk is given this script's absolute path.
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "status.lua")

local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  local count = tonumber(os.getenv("BENCH_WEBHOOK_THREADS") or "1")
  local path = os.getenv("BENCH_WEBHOOK_PATH")
  deliveries, index = {}, 0
  accepted, duplicate, wrapped, bad, codes = 0, 0, 0, 0, {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % count == offset then
      local id, signature, body = string.match(line, "^([^\t]+)\t([^\t]+)\t(.+)$")
      if id then
        deliveries[#deliveries + 1] = wrk.format("POST", path, {
          ["Content-Type"] = "application/json",
          ["X-Sandbox-Delivery"] = id,
          ["X-Sandbox-Signature"] = signature,
        }, body)
      end
    end
    i = i + 1
  end
  assert(#deliveries > 0, "no deliveries for this thread in " .. tostring(args[1]))
end

function request()
  index = index + 1
  if index > #deliveries then
    index, wrapped = 1, wrapped + 1
  end
  return deliveries[index]
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  elseif status == 200 then
    duplicate = duplicate + 1
  end
  count_status(status)
end

function done(summary, latency, requests)
  report_status(threads)
  local a, d, w = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    d = d + thread:get("duplicate")
    w = w + thread:get("wrapped")
  end
  io.write(string.format("bench-webhook accepted=%d duplicate=%d wrapped=%d\n", a, d, w))
end
