-- wrk script: POST /oauth2/token with the client_credentials grant.
-- BASIC is the base64 of "client_id:client_secret" (set by run.sh).
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
