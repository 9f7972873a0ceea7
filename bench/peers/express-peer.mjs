#!/usr/bin/env node
// The hand-rolled v1 launch endpoint a team would otherwise write, as a yardstick for the
// connector (bench/peers/README.md): Express 5 with the hbs view engine, the v1 signature checked
// as CONCUR-PROTOCOL.md section 2 says (HMAC-SHA1, constant-time compare), a Map of used nonces,
// a small rendered page. No sessions, no audit, no rate limit, no metrics, no security headers.
// With --audit-db FILE it also does the one piece of the connector's work that costs the most:
// before answering, it appends a hash-chained row per accepted launch to a SQLite file (WAL,
// synchronous=FULL: on disk before the answer), as the connector's audit log does.
//
//   node bench/peers/express-peer.mjs --port 3001 --username SandboxConnector --password ... [--domain sandbox.example.com] [--audit-db FILE]
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import express from 'express';
import hbs from 'hbs';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    domain: { type: 'string', default: 'sandbox.example.com' },
    path: { type: 'string', default: '/concur/form/v1.0/get' },
    'audit-db': { type: 'string' },
  },
});
if (!opts.port || !opts.username || !opts.password) {
  console.error('usage: express-peer.mjs --port N --username U --password P [--domain D] [--path /concur/form/v1.0/get]');
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

/** --audit-db: one durable, hash-chained row per accepted launch; undefined without it. */
const audit = opts['audit-db'] ? openAudit(opts['audit-db']) : undefined;

function openAudit(file) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, id TEXT, at TEXT, user TEXT, item TEXT, prev_hash TEXT, hash TEXT)');
  const insert = db.prepare('INSERT INTO audit (seq, id, at, user, item, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
  let seq = 0;
  let head = '0'.repeat(64);
  return (user, item) => {
    const row = [++seq, randomUUID(), new Date().toISOString(), user, item, head];
    const hash = createHash('sha256').update(JSON.stringify(row)).digest('hex');
    insert.run(...row, hash);
    head = hash;
  };
}

// The views a team would keep in views/: written to a scratch folder so this file stands alone.
const views = mkdtempSync(join(tmpdir(), 'clc-express-peer-'));
writeFileSync(
  join(views, 'launch.hbs'),
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pick a value</title></head>
<body><main><h1>Pick a value</h1><p>Signed in as {{user}} ({{domain}}).</p><p>Item: <code>{{item}}</code></p></main></body></html>
`,
);
writeFileSync(
  join(views, 'refused.hbs'),
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link not valid</title></head>
<body><main><h1>This link is not valid</h1><p>{{reason}}. Close this window and launch again from Concur.</p></main></body></html>
`,
);
process.on('exit', () => rmSync(views, { recursive: true, force: true }));

const app = express();
app.engine('hbs', hbs.__express);
app.set('views', views);
app.set('view engine', 'hbs');
// What NODE_ENV=production turns on; without it every render re-reads and recompiles the template.
app.set('view cache', true);

app.get(opts.path, (req, res) => {
  const q = req.query;
  const names = ['xcompanydomain', 'xuserid', 'itemurl', 'nonce', 'signature'];
  if (names.some((name) => typeof q[name] !== 'string' || q[name] === '')) {
    return res.status(400).render('refused', { reason: 'A parameter is missing' });
  }
  if (q.xcompanydomain !== opts.domain || !signatureMatches(q)) {
    return res.status(401).render('refused', { reason: 'The signature does not match' });
  }
  if (!claim(q.nonce)) return res.status(401).render('refused', { reason: 'This link was already used' });
  audit?.(q.xuserid, q.itemurl);
  res.set('Cache-Control', 'no-store');
  res.render('launch', { user: q.xuserid, domain: q.xcompanydomain, item: q.itemurl });
});

const server = app.listen(Number(opts.port), '127.0.0.1', () => {
  console.log(`express-peer listening on http://127.0.0.1:${opts.port}`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
