#!/usr/bin/env node
// The limit for a v1 launch endpoint in Node.js (bench/peers/README.md): node:http, the same v1
// signature check as express-peer.mjs (HMAC-SHA1 per CONCUR-PROTOCOL.md section 2, constant-time
// compare), the same Map of used nonces, and a precompiled template (a template-literal function).
// Nothing else: no framework, no sessions, no audit, no logging.
//
//   node bench/peers/node-limit.mjs --port 3002 --username SandboxConnector --password ... [--domain sandbox.example.com]
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { parse } from 'node:querystring';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    domain: { type: 'string', default: 'sandbox.example.com' },
    path: { type: 'string', default: '/concur/form/v1.0/get' },
  },
});
if (!opts.port || !opts.username || !opts.password) {
  console.error('usage: node-limit.mjs --port N --username U --password P [--domain D] [--path /concur/form/v1.0/get]');
  process.exit(2);
}

const NONCE_TTL_MS = 24 * 3600 * 1000;
const key = opts.username.toLowerCase() + opts.password;
/** nonce -> expiry; insertion order is expiry order. */
const nonces = new Map();

function claim(nonce) {
  const now = Date.now();
  for (const [old, expiresAt] of nonces) {
    if (expiresAt > now) break;
    nonces.delete(old);
  }
  if (nonces.has(nonce)) return false;
  nonces.set(nonce, now + NONCE_TTL_MS);
  return true;
}

function signatureMatches(q) {
  const base = q.xcompanydomain + q.xuserid + q.itemurl + opts.username + opts.password + q.nonce;
  const expected = createHmac('sha1', key).update(base, 'utf8').digest();
  const received = Buffer.from(q.signature, 'base64');
  return expected.length === received.length && timingSafeEqual(expected, received);
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const launchPage = ({ user, domain, item }) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pick a value</title></head>
<body><main><h1>Pick a value</h1><p>Signed in as ${esc(user)} (${esc(domain)}).</p><p>Item: <code>${esc(item)}</code></p></main></body></html>
`;
const refusedPage = (reason) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link not valid</title></head>
<body><main><h1>This link is not valid</h1><p>${esc(reason)}. Close this window and launch again from Concur.</p></main></body></html>
`;

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const server = createServer((req, res) => {
  const at = req.url.indexOf('?');
  const path = at < 0 ? req.url : req.url.slice(0, at);
  if (req.method !== 'GET' || path !== opts.path) return send(res, 404, refusedPage('Not found'));
  const q = parse(req.url.slice(at + 1));
  const names = ['xcompanydomain', 'xuserid', 'itemurl', 'nonce', 'signature'];
  if (names.some((name) => typeof q[name] !== 'string' || q[name] === '')) return send(res, 400, refusedPage('A parameter is missing'));
  if (q.xcompanydomain !== opts.domain || !signatureMatches(q)) return send(res, 401, refusedPage('The signature does not match'));
  if (!claim(q.nonce)) return send(res, 401, refusedPage('This link was already used'));
  send(res, 200, launchPage({ user: q.xuserid, domain: q.xcompanydomain, item: q.itemurl }), { 'Cache-Control': 'no-store' });
});

server.listen(Number(opts.port), '127.0.0.1', () => {
  console.log(`node-limit listening on http://127.0.0.1:${opts.port}`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
