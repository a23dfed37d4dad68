-- Shared by the wrk scripts: count every answer that is not 2xx (wrk itself counts only
-- 4xx/5xx, but a redirect to the login page is a failure too) and report the total.

function count_status(status)
  if status < 200 or status > 299 then
    bad = bad + 1
    codes[status] = (codes[status] or 0) + 1
  end
end

function report_status(threads)
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
