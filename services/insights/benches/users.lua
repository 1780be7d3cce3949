-- Random known users: every request is a cache hit on a precomputed list.
math.randomseed(42)
request = function()
  return wrk.format("GET", "/v1/recommendations/users/u" .. math.random(0, 999) .. "?k=10")
end
