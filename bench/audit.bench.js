#!/usr/bin/env node
// Audit ledger throughput: append and verify, records/s, for SQLite (and PostgreSQL when the embedded
// server starts), each next to a baseline measured in the same run on the same database:
//   append  vs  a bare INSERT of a same-shaped row in its own transaction (no hashing, no chain, no
//               idempotency check), so the ratio is the ledger's own cost;
//   verify  vs  reading the same rows without checking them.
// Each measurement is time-boxed; the whole file stays well under a minute.
// BENCH_POSTGRES=0 skips PostgreSQL.
'use strict';
const { spawn } = require('node:child_process');
const { generateKeyPairSync, randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Database = require('better-sqlite3');
const { Pool } = require('pg');
const audit = require('../dist/audit');

const BUDGET_MS = 3000;
const MAX_RECORDS = 20000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-'));
const signer = audit.createCheckpointSigner(generateKeyPairSync('ed25519').privateKey);
const COLS =
  'seq, ts, idempotency_key, workflow_id, run_id, type, actor_kind, actor_id, data, trace_id, span_id, prev_hash, leaf_hash';

function input(i) {
  return {
    idempotencyKey: `run-${i % 50}/audit/${i}`,
    workflowId: `alert-edr-${i % 50}`,
    runId: `run-${i % 50}`,
    type: 'tool.executed',
    actor: { kind: 'agent', id: 'alert-scorer' },
    data: {
      tool: 'lookup_ip',
      risk: 'read',
      argsDigest: `sha256:${'ab'.repeat(32)}`,
      resultDigest: `sha256:${'cd'.repeat(32)}`,
      capability: 'intel:read',
      tokens: { input: 812, output: 64 },
    },
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
  };
}

function row(i) {
  const r = input(i);
  return [
    i,
    new Date().toISOString(),
    r.idempotencyKey,
    r.workflowId,
    r.runId,
    r.type,
    r.actor.kind,
    r.actor.id,
    JSON.stringify(r.data),
    r.traceId,
    r.spanId,
    '0'.repeat(64),
    'f'.repeat(64),
  ];
}

/** Runs `op(i)` for i = 1, 2, ... until the budget or the cap; returns { n, perSec }. */
async function measure(op, { budgetMs = BUDGET_MS, max = MAX_RECORDS, concurrency = 1 } = {}) {
  let next = 1;
  const start = process.hrtime.bigint();
  const deadline = Date.now() + budgetMs;
  const worker = async () => {
    while (next <= max && Date.now() < deadline) await op(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  return { n: next - 1, perSec: (next - 1) / secs };
}

async function measureScan(fn) {
  const start = process.hrtime.bigint();
  const n = await fn();
  return { n, perSec: n / (Number(process.hrtime.bigint() - start) / 1e9) };
}

const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(9);
function report(store, what, m, baseline) {
  const ratio = baseline ? `  ${(m.perSec / baseline.perSec).toFixed(2)}x baseline` : '  (baseline)';
  console.log(`audit ${store.padEnd(8)} ${what.padEnd(44)} ${fmt(m.perSec)} records/s  (n=${m.n})${ratio}`);
}

async function sqlite() {
  // Baseline: same schema, same pragmas (WAL, synchronous=FULL), one bare INSERT per transaction.
  const bareFile = path.join(dir, 'bare.db');
  audit.SqliteAuditStore.open({ file: bareFile }).close();
  const bare = new Database(bareFile);
  bare.pragma('journal_mode = WAL');
  bare.pragma('synchronous = FULL');
  const ins = bare.prepare(
    `INSERT INTO audit_records (${COLS}) VALUES (${COLS.split(',')
      .map(() => '?')
      .join(',')})`,
  );
  const one = bare.transaction((i) => ins.run(...row(i)));
  const base = await measure((i) => one.immediate(i));
  bare.close();
  report('sqlite', 'bare INSERT per transaction', base);

  const store = audit.SqliteAuditStore.open({ file: path.join(dir, 'store.db') });
  const app = await measure((i) => store.append(input(i)));
  report('sqlite', 'append (store: hash, chain, exactly-once)', app, base);
  const retry = await measure((i) => store.append(input(i)), { max: app.n });
  report('sqlite', 'append retried (key exists: returns original)', retry, base);

  const ledger = new audit.AuditLedger({
    store: audit.SqliteAuditStore.open({ file: path.join(dir, 'ledger.db') }),
    signer,
    checkpointEvery: 100,
    checkpointIntervalMs: 0,
  });
  const led = await measure((i) => ledger.append(input(i)));
  report('sqlite', 'append (AuditLedger, checkpoint every 100)', led, base);

  const read = await measureScan(async () => {
    let n = 0;
    for await (const b of store.scan()) n += b.length;
    return n;
  });
  report('sqlite', 'read all rows (verify baseline)', read);
  const ver = await measureScan(async () => {
    const r = await audit.verifyStore(store, [signer.publicKey]);
    if (!r.ok) throw new Error(`bench ledger does not verify: ${r.reason}`);
    return r.checked;
  });
  report('sqlite', 'verify (recompute hashes, chain)', ver, read);
  const lv = await measureScan(async () => (await ledger.verify()).checked);
  report('sqlite', 'verify with checkpoint signatures', lv, read);
  await ledger.close();
  await store.close();
}

function memory() {
  const records = [];
  let prev = audit.GENESIS_HASH;
  const checkpoints = [];
  for (let i = 1; i <= 50000; i++) {
    const r = { seq: i, ts: new Date().toISOString(), ...input(i), prevHash: prev };
    r.leafHash = audit.leafHashOf(r);
    prev = r.leafHash;
    records.push(r);
    if (i % 100 === 0) checkpoints.push(signer.sign(r));
  }
  const m = { n: 0, perSec: 0 };
  const start = process.hrtime.bigint();
  const r = audit.verifyLedger(records, checkpoints, [signer.publicKey]);
  if (!r.ok) throw new Error(r.reason);
  m.n = r.checked;
  m.perSec = m.n / (Number(process.hrtime.bigint() - start) / 1e9);
  const hs = process.hrtime.bigint();
  for (const rec of records) audit.sha256Hex(JSON.stringify(rec));
  const hash = { n: records.length, perSec: records.length / (Number(process.hrtime.bigint() - hs) / 1e9) };
  report('memory', 'sha256 of JSON.stringify (verify baseline)', hash);
  report('memory', 'verifyLedger (zod, RFC 8785, sha256, chain, sigs)', m, hash);
}

function startPostgres() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'test', 'harness', 'postgres-server.js')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve({ url: JSON.parse(out.split('\n')[0]).url, child });
    });
    child.on('exit', (code) => reject(new Error(`embedded PostgreSQL exited (${code}): ${err.slice(-500)}`)));
  });
}

async function postgres() {
  if (process.env.BENCH_POSTGRES === '0') return console.log('audit postgres skipped (BENCH_POSTGRES=0)');
  let pg;
  try {
    pg = await startPostgres();
  } catch (e) {
    return console.log(`audit postgres skipped: ${e.message}`);
  }
  const exited = new Promise((r) => pg.child.on('exit', r));
  try {
    const store = await audit.PostgresAuditStore.open({ connectionString: pg.url, poolSize: 4 });
    const pool = new Pool({ connectionString: pg.url, max: 4 });
    pool.on('error', () => undefined); // the server stopping under an idle client at the end
    await pool.query(`CREATE TABLE bare (LIKE audit_records INCLUDING ALL)`);
    const values = COLS.split(',')
      .map((_, k) => `$${k + 1}`)
      .join(',');
    const base = await measure((i) => pool.query(`INSERT INTO bare (${COLS}) VALUES (${values})`, row(i)), {
      max: 5000,
    });
    report('postgres', 'bare INSERT (autocommit, 1 client)', base);
    const app = await measure((i) => store.append(input(i)), { max: 5000 });
    report('postgres', 'append (1 client)', app, base);
    const base4 = await measure((i) => pool.query(`INSERT INTO bare (${COLS}) VALUES (${values})`, row(100000 + i)), {
      max: 5000,
      concurrency: 4,
    });
    report('postgres', 'bare INSERT (4 clients)', base4);
    const app4 = await measure((i) => store.append(input(100000 + i)), { max: 5000, concurrency: 4 });
    report('postgres', 'append (4 clients, serialised on the head row)', app4, base4);
    const read = await measureScan(async () => {
      let n = 0;
      for await (const b of store.scan()) n += b.length;
      return n;
    });
    report('postgres', 'read all rows (verify baseline)', read);
    const ver = await measureScan(async () => (await audit.verifyStore(store, [])).checked);
    report('postgres', 'verify (recompute hashes, chain)', ver, read);
    await pool.end();
    await store.close();
  } finally {
    pg.child.stdin.end();
    await exited;
  }
}

(async () => {
  console.log(
    `audit bench: node ${process.version}, ${os.cpus().length} CPUs, data in ${dir}; sample id ${randomBytes(3).toString('hex')}`,
  );
  await sqlite();
  memory();
  await postgres();
})()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
