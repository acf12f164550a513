-- wrk script: POST a unique answered CDR per request; every second one is a hangup reason that
-- plans an alert (recv_cancel), the others do not (recv_bye). Prints latency percentiles at the end.
-- Keys as TeleCMI sends them: each cmiuuid a random (version 4) UUID, each caller one of a million
-- numbers. BENCH_KEYS=clustered sends the shape the bench used until 2026-11-29 instead (ids that
-- sort by the second they were sent in, one caller for every call), which flatters a B-tree store:
-- bench/README.md, "Seventh session".
local clustered = os.getenv("BENCH_KEYS") == "clustered"
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
  math.randomseed(os.time() + id * 7919)
end

local template = '{"virtual_number":440000000000,"custom":"{\\"key\\":\\"value\\"}","appid":2222223,"type":"cdr",' ..
  '"direction":"inbound","cmiuuid":"%s","user":"204_2222223","status":"answered","to":440000000001,' ..
  '"from":%d,"time":1634720920615,"answeredsec":11,"team":"Sales_2222223","hangup_reason":"%s",' ..
  '"record":false,"conversation_uuid":"%s","ivr_name":"salesivr"}'

function request()
  counter = counter + 1
  local id, caller
  if clustered then
    id = string.format("b%d-%d-%08x-%d", thread_id, os.time(), math.random(0, 0x7fffffff), counter)
    caller = 440000000002
  else
    id = string.format("%08x-%04x-4%03x-%04x-%06x%06x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
      math.random(0, 0xfff), math.random(0x8000, 0xbfff), math.random(0, 0xffffff), math.random(0, 0xffffff))
    caller = 440000000000 + math.random(0, 999999)
  end
  local reason = (counter % 2 == 0) and "recv_cancel" or "recv_bye"
  local body = string.format(template, id, caller, reason, id)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d duration_us=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
