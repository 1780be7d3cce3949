#!/usr/bin/env node
// Renders the benchmark email with Handlebars: the same data as benches/render.rs and
// templates under fixtures/hbs/ equivalent to the Jinja ones (partial blocks for the
// layout's blocks, partials for the include and the macros, helpers for the filters with
// machina-template-engine's semantics).
//
// Usage: handlebars_render.js [ITERATIONS]   (prints one line: engine=… renders_per_sec=…)
//        handlebars_render.js --dump         (prints the rendered email)
// `handlebars` must be resolvable (compare.sh sets NODE_PATH).
'use strict';
const fs = require('fs');
const path = require('path');
const Handlebars = require('handlebars');

const FIXTURES = path.join(__dirname, '..', 'fixtures');
const read = (p) => fs.readFileSync(path.join(FIXTURES, p), 'utf8');

function grouped(value, decimals) {
  const text = Math.abs(Number(value)).toFixed(decimals);
  const [int, frac] = text.split('.');
  const withSep = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const negative = Number(value) < 0 && /[1-9]/.test(text);
  return [negative ? '-' : '', frac === undefined ? withSep : `${withSep}.${frac}`];
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];

// strftime subset (%d %m %B %Y %H %M) in the offset written in the RFC 3339 string.
function formatDate(value, format) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(String(value));
  if (!m) throw new Error(`date: ${JSON.stringify(value)} is not an RFC 3339 date-time`);
  const parts = { Y: m[1], m: m[2], d: m[3], H: m[4] || '00', M: m[5] || '00', B: MONTHS[Number(m[2]) - 1] };
  return format.replace(/%([YmdHMB])/g, (_, k) => parts[k]);
}

function truncate(s, length, killwords, end, leeway) {
  const chars = Array.from(String(s));
  if (chars.length <= length + leeway) return s;
  let kept = chars.slice(0, length - Array.from(end).length).join('');
  if (!killwords) {
    const i = kept.lastIndexOf(' ');
    if (i >= 0) kept = kept.slice(0, i);
  }
  return kept + end;
}

function environment() {
  const hb = Handlebars.create();
  hb.registerHelper({
    eq: (a, b) => a === b,
    lt: (a, b) => a < b,
    gte: (a, b) => a >= b,
    concat: (...args) => args.slice(0, -1).join(''),
    currency: (v) => { const [sign, text] = grouped(v, 2); return `${sign}$${text}`; },
    number: (v, decimals) => grouped(v, typeof decimals === 'number' ? decimals : 0).join(''),
    date: (v, format) => formatDate(v, format),
    slugify: (s) => String(s).normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()
      .split(/[^\p{L}\p{N}]+/u).filter(Boolean).join('-'),
    truncate: (s, length, killwords, end, leeway) => truncate(s, length, killwords, end, leeway),
  });
  for (const name of ['layout', 'product_card', 'price', 'button']) {
    hb.registerPartial(name, read(`hbs/${name}.hbs`).replace(/\n$/, ''));
  }
  return hb.compile(read('hbs/product_list.hbs'), { strict: true });
}

function main() {
  const template = environment();
  const data = JSON.parse(read('data.json'));
  if (process.argv[2] === '--dump') {
    process.stdout.write(template(data));
    return;
  }
  const iterations = Number(process.argv[2] || 2000);
  let out = '';
  for (let i = 0; i < Math.max(1, Math.floor(iterations / 10)); i++) out = template(data);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) template(data);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const version = Handlebars.VERSION;
  console.log(`engine=handlebars-${version} renders=${iterations} seconds=${seconds.toFixed(3)} `
    + `renders_per_sec=${(iterations / seconds).toFixed(0)} bytes=${Buffer.byteLength(out)}`);
}

main();
