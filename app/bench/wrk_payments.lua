-- wrk script: POST /payments with a unique Idempotency-Key per request and the client identity headers
-- the load balancer would set (loopback only: the service trusts them from the ALB/HAProxy alone).
-- Headers come from the environment: WRK_IDENTITY is a file of "Name: value" lines (app/bench/wrk_capacity.py
-- writes it). Counts every status per thread and prints them at the end (503s: admission refusals).
local identity = {}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  n = 0
  local f = assert(io.open(os.getenv("WRK_IDENTITY"), "r"))
  for line in f:lines() do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then identity[name] = value end
  end
  f:close()
  identity["Content-Type"] = "application/json"
  run = os.getenv("WRK_RUN") or "wrk"
end

function request()
  n = n + 1
  local key = string.format("%s-%d-%d", run, tid, n)
  identity["Idempotency-Key"] = key
  local body = string.format(
    '{"merchant_id":"m-%d","customer_id":"c-%d","amount_minor":%d,"currency":"EUR","card_token":"tok_%s"}',
    n % 50, n % 400, 100 + n % 40000, key)
  return wrk.format("POST", "/payments", identity, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, count in pairs(s) do total[code] = (total[code] or 0) + count end
  end
  for code, count in pairs(total) do io.write(string.format("status %d: %d\n", code, count)) end
  io.write(string.format("p50 %.1f ms p99 %.1f ms requests/s %.1f\n", latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6)))
end
