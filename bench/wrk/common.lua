-- Shared by the benchmark scripts: thread numbering, answer counters, one JSON line of figures.
local common = {}
local threads = {}

function common.setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

function common.init_counters()
   expected, unexpected = 0, 0
   nthreads = tonumber(os.getenv("GP_WRK_THREADS"))  -- wrk's -t, passed by bench/_wrk.py
end

function common.count(ok, status, body)
   if ok then
      expected = expected + 1
   else
      unexpected = unexpected + 1
      if sample == nil then sample = status .. " " .. (body or ""):sub(1, 300):gsub("%s+", " ") end
   end
end

function common.done(summary, latency, requests)
   local good, bad = 0, 0
   for _, thread in ipairs(threads) do
      good = good + thread:get("expected")
      bad = bad + thread:get("unexpected")
      local sample = thread:get("sample")
      if sample ~= nil then io.write("GP_UNEXPECTED " .. sample .. "\n") end
   end
   local e = summary.errors
   io.write(string.format(
      'GP_FIGURES {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"expected":%d,"unexpected":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
      '"timeouts":%d,"status_errors":%d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, good, bad, e.connect, e.read, e.write, e.timeout, e.status))
end

return common
