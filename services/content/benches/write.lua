-- wrk: POST a new entry per request, with a slug unique per run, thread and request.
-- Usage: wrk ... -s write.lua <url> -- <run id> <path>
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  run = args[1] or "r"
  path = args[2] or "/v1/content/entries"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"type":"article","slug":"w-%s-%d-%d","fields":{"title":"Bench","body":"# Hello","price":3}}',
    run, tid, counter)
  return wrk.format(nil, path, nil, body)
end
