-- The physical reference: a static file revalidated with its ETag (nginx answers 304).
-- Usage: wrk ... -s static.lua URL -- ETAG
local common = dofile(os.getenv("GP_WRK_COMMON"))

function init(args)
   common.init_counters()
   headers = {["If-None-Match"] = args[1]}
end

function request()
   return wrk.format("GET", nil, headers)
end

function response(status, headers, body)
   common.count(status == 304, status, body)
end

setup = common.setup
done = common.done
