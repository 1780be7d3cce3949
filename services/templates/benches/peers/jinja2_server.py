#!/usr/bin/env python3
"""The Jinja2 peer of the template service's render endpoint, for load runs.

`POST /render` with `{"context": {...}}` renders the template engine's benchmark email
(services/template-engine/benches/fixtures, the filters of peers/jinja2_render.py,
autoescape on) and answers `{"output": "..."}` — the same work per request as
`POST /v1/templates/{name}/render`: parse JSON, render, serialise JSON.

Usage: jinja2_server.py PORT   (stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive)
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                     "template-engine", "benches", "peers")
sys.path.insert(0, PEERS)
import jinja2_render  # noqa: E402

TEMPLATE = jinja2_render.environment().get_template("product_list.html")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        try:
            context = json.loads(self.rfile.read(length))["context"]
            body = json.dumps({"output": TEMPLATE.render(context)}).encode()
            status = 200
        except Exception as err:  # a bad request is answered, never kills the server
            body = json.dumps({"error": str(err)}).encode()
            status = 400
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
