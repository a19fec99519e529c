-- Operation reports (InProgress, growing sequence) of many machines, one operation each.
-- Usage: wrk ... -s upload.lua URL -- OPERATIONS_FILE FIRST_SEQUENCE
-- OPERATIONS_FILE: one machine per line, "credential operation-id". Each wrk thread owns a disjoint
-- share of the operations, so every report carries a sequence higher than the last one sent for that
-- operation (starting at FIRST_SEQUENCE, above any earlier run's). An answer other than
-- 200 {"duplicate":false} is counted in "unexpected".
local common = dofile(os.getenv("GP_WRK_COMMON"))

function init(args)
   common.init_counters()
   creds, paths, sequences = {}, {}, {}
   local first = tonumber(args[2])
   local index = 0
   for line in io.lines(args[1]) do
      local credential, operation = line:match("^(%S+) (%S+)$")
      if index % nthreads == id - 1 then
         creds[#creds + 1] = "Bearer " .. credential
         paths[#paths + 1] = "/agent/v1/operations/" .. operation
         sequences[#sequences + 1] = first - 1
      end
      index = index + 1
   end
   count = #creds
   position = 0
   started = os.date("!%Y-%m-%dT%H:%M:%SZ")
end

function request()
   position = position % count + 1
   sequences[position] = sequences[position] + 1
   local body = string.format('{"sequence":%d,"status":"InProgress","startedAt":"%s"}',
                              sequences[position], started)
   return wrk.format("PUT", paths[position], {
      ["Authorization"] = creds[position],
      ["Content-Type"] = "application/json",
   }, body)
end

function response(status, headers, body)
   common.count(status == 200 and body:find('"duplicate":false', 1, true) ~= nil, status, body)
end

setup = common.setup
done = common.done
