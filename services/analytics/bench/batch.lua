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

-- Moderate load: DELAY_MS between a connection's requests (wrk's delay hook), so the
-- offered rate is at most connections * 1000 / DELAY_MS requests per second.
local delay_ms = tonumber(os.getenv("DELAY_MS") or "")
if delay_ms then
  delay = function()
    return delay_ms
  end
end
