-- wrk script: POST /v1/events/batch with BATCH (default 50) page views per request,
-- each request with its own Idempotency-Key so ids differ between requests.
local batch = tonumber(os.getenv("BATCH") or "50")
local counter = 0
local ts = os.date("!%Y-%m-%dT%H:%M:%SZ")

request = function()
  counter = counter + 1
  local events = {}
  for i = 1, batch do
    events[i] = string.format(
      '{"type":"page.viewed","timestamp":"%s","anonymousId":"visitor-%d","properties":{"path":"/products/lamp","referrer":"search"}}',
      ts, i)
  end
  local body = '{"events":[' .. table.concat(events, ",") .. ']}'
  local key = string.format("%d-%d-%d", os.time(), math.random(1, 1000000000), counter)
  return wrk.format("POST", "/v1/events/batch",
    {["Content-Type"] = "application/json", ["Idempotency-Key"] = key}, body)
end
