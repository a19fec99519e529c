-- Goal-state polls of many machines, each with its own credential and its current ETag.
-- Usage: wrk ... -s checkin.lua URL -- FLEET_FILE
-- FLEET_FILE: one machine per line, "credential etag". Every answer must be 304: any other status is
-- counted in "unexpected" and fails the benchmark run.
local common = dofile(os.getenv("GP_WRK_COMMON"))

function init(args)
   common.init_counters()
   creds, etags = {}, {}
   for line in io.lines(args[1]) do
      local credential, etag = line:match("^(%S+) (%S+)$")
      creds[#creds + 1] = "Bearer " .. credential
      etags[#etags + 1] = etag
   end
   count = #creds
   -- threads start at different machines so connections do not poll the same machine in step
   position = math.floor((id - 1) * count / nthreads)
end

function request()
   position = position % count + 1
   return wrk.format("GET", "/agent/v1/goalstate", {
      ["Authorization"] = creds[position],
      ["If-None-Match"] = etags[position],
   })
end

function response(status, headers, body)
   common.count(status == 304, status, body)
end

setup = common.setup
done = common.done
