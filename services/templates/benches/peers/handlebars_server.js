#!/usr/bin/env node
// The Handlebars peer of the template service's render endpoint, for load runs.
//
// `POST /render` with `{"context": {...}}` renders the benchmark email with the templates
// and helpers of services/template-engine/benches/peers/handlebars_render.js and answers
// `{"output": "..."}`: parse JSON, render, serialise JSON, like the template service.
//
// Usage: NODE_PATH=<dir>/node_modules handlebars_server.js PORT   (node's http module)
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const Module = require('module');

// Load the peer's `environment()` without running its benchmark `main()`.
const peer = path.join(__dirname, '..', '..', '..', 'template-engine', 'benches', 'peers',
  'handlebars_render.js');
const source = fs.readFileSync(peer, 'utf8')
  .replace(/^#!.*\n/, '')
  .replace(/\nmain\(\);\s*$/, '\nmodule.exports = { environment };\n');
const loaded = new Module(peer, module);
loaded.filename = peer;
loaded.paths = Module._nodeModulePaths(path.dirname(peer));
loaded._compile(source, peer);
const template = loaded.exports.environment();

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let status = 200;
    let body;
    try {
      const { context } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      body = JSON.stringify({ output: template(context) });
    } catch (err) {
      status = 400;
      body = JSON.stringify({ error: String(err) });
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}).listen(Number(process.argv[2]), '127.0.0.1');
