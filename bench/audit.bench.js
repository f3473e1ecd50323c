#!/usr/bin/env node
// Audit ledger throughput, records/s, each figure next to a baseline measured in the same run on the
// same database, so the ratio is the ledger's own cost:
//   SQLite append      vs  a bare INSERT of the same rows, one per transaction (one fsync each), and in
//                          batches of CONCURRENCY per transaction (what batching alone buys);
//   PostgreSQL append  vs  a bare INSERT of the same rows (autocommit, prepared), with 1 and 4 clients,
//                          durable (fsync=on) and as the test harness runs it (fsync=off);
//   verify             vs  reading the same rows without checking them.
// Appends are time-boxed; the verify ledger is built directly (chained, signed) so it can be large.
// `--json` prints one JSON document instead of lines. BENCH_POSTGRES=0 skips PostgreSQL, BENCH_SQLITE=0 SQLite;
// BENCH_VERIFY_RECORDS sets the verify ledger's size.
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { URL } = require('node:url');
const Database = require('better-sqlite3');
const { Client, Pool } = require('pg');
const audit = require('../dist/audit');
const { rowLeafHash } = require('../dist/audit/threads/row-hash');
const { signCheckpoint, syncSigner, checkpointHash, GENESIS } = require('../dist/audit/threads/checkpoint');

const JSON_OUT = process.argv.includes('--json');
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 4000);
const CONCURRENCY = 64;
const VERIFY_RECORDS = Number(process.env.BENCH_VERIFY_RECORDS ?? 200_000);
const COLS =
  'seq, ts, idempotency_key, workflow_id, run_id, type, actor_kind, actor_id, data, trace_id, span_id, prev_hash, leaf_hash';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-'));
const { privateKey } = require('node:crypto').generateKeyPairSync('ed25519');
const signer = audit.createCheckpointSigner(privateKey);
const results = [];

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

/** The same record as a stored row (seq i), for the bare INSERT baselines. */
function row(i) {
  const r = input(i);
  const data = audit.canonicalJson(r.data);
  return [
    i,
    new Date().toISOString(),
    r.idempotencyKey,
    r.workflowId,
    r.runId,
    r.type,
    r.actor.kind,
    r.actor.id,
    data,
    r.traceId,
    r.spanId,
    '0'.repeat(64),
    'f'.repeat(64),
  ];
}

/** Runs `op(i)` from `concurrency` callers for the budget; returns { n, perSec }. `per` = records per op. */
async function measure(op, { concurrency = 1, per = 1, budgetMs = BUDGET_MS, start = 1 } = {}) {
  let next = start;
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + budgetMs;
  const caller = async () => {
    while (Date.now() < deadline) {
      const i = next;
      next += per;
      await op(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const n = next - start;
  return { n, perSec: n / (Number(process.hrtime.bigint() - t0) / 1e9) };
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const n = await fn();
  return { n, perSec: n / (Number(process.hrtime.bigint() - t0) / 1e9) };
}

const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10);
function report(store, what, m, baseline) {
  const ratio = baseline ? m.perSec / baseline.perSec : undefined;
  results.push({
    store,
    what,
    recordsPerSec: Math.round(m.perSec),
    n: m.n,
    ...(baseline ? { baseline: baseline.what, ratio: Number(ratio.toFixed(3)) } : {}),
  });
  m.what = what;
  if (!JSON_OUT) {
    const r = baseline ? `  ${ratio.toFixed(2)}x ${baseline.what}` : '  (baseline)';
    console.log(`audit ${store.padEnd(10)} ${what.padEnd(58)} ${fmt(m.perSec)} records/s  (n=${m.n})${r}`);
  }
  return m;
}

async function sqliteAppend() {
  const bareFile = path.join(dir, 'bare.db');
  await audit.SqliteAuditStore.open({ file: bareFile }).close();
  const bare = new Database(bareFile);
  bare.pragma('journal_mode = WAL');
  bare.pragma('synchronous = FULL');
  const ins = bare.prepare(
    `INSERT INTO audit_records (${COLS}) VALUES (${COLS.split(',')
      .map(() => '?')
      .join(',')})`,
  );
  const one = bare.transaction((i) => ins.run(row(i)));
  const base1 = report('sqlite', 'bare INSERT, 1 row per transaction', await measure(async (i) => one.immediate(i)));
  const many = bare.transaction((i, n) => {
    for (let k = 0; k < n; k++) ins.run(row(i + k));
  });
  const baseN = report(
    'sqlite',
    `bare INSERT, ${CONCURRENCY} rows per transaction`,
    await measure(async (i) => many.immediate(i, CONCURRENCY), { per: CONCURRENCY, start: 10_000_000 }),
  );
  bare.close();

  const store = audit.SqliteAuditStore.open({ file: path.join(dir, 'store.db') });
  report('sqlite', 'append, 1 caller (durable, one commit each)', await measure((i) => store.append(input(i))), base1);
  const conc = await measure((i) => store.append(input(i)), { concurrency: CONCURRENCY, start: 1_000_000 });
  report('sqlite', `append, ${CONCURRENCY} concurrent callers (group commit)`, conc, base1);
  results[results.length - 1].vsBatchedBare = Number((conc.perSec / baseN.perSec).toFixed(3));
  if (!JSON_OUT) console.log(`${' '.repeat(17)}(${(conc.perSec / baseN.perSec).toFixed(2)}x ${baseN.what})`);
  const stats = await store.writerStats();
  await store.close();

  const witnessDir = path.join(dir, 'witness');
  const ledger = new audit.AuditLedger({
    store: audit.SqliteAuditStore.open({ file: path.join(dir, 'ledger.db') }),
    signer,
    checkpointEvery: 100,
    checkpointIntervalMs: 60_000,
    witnessDir,
  });
  const led = await measure((i) => ledger.appendMany([input(i), input(i + 1)]), { concurrency: CONCURRENCY, per: 2 });
  report('sqlite', `AuditLedger.appendMany (2 records/call, ${CONCURRENCY} callers, checkpoints+witness)`, led, base1);
  await ledger.close();
  if (!JSON_OUT) {
    console.log(`${' '.repeat(17)}(group commit: ${stats.records} records in ${stats.transactions} transactions)`);
  }
}

/** A chained, signed ledger of `n` records written straight into a store's tables. */
function buildVerifyLedger(file, n) {
  audit.SqliteAuditStore.open({ file }).close();
  const db = new Database(file);
  db.pragma('synchronous = OFF');
  const ins = db.prepare(
    `INSERT INTO audit_records (${COLS}) VALUES (${COLS.split(',')
      .map(() => '?')
      .join(',')})`,
  );
  const cpIns = db.prepare('INSERT INTO audit_checkpoints VALUES (?, ?, ?, ?, ?, ?)');
  const sync = syncSigner(signer.threadSpec());
  let prev = GENESIS;
  let prevCp;
  db.transaction(() => {
    for (let i = 1; i <= n; i++) {
      const r = row(i);
      r[11] = prev;
      r[12] = rowLeafHash(r);
      prev = r[12];
      ins.run(r);
      if (i % 1000 === 0 || i === n) {
        const cp = signCheckpoint(sync, { seq: i, leafHash: r[12] }, prevCp ? checkpointHash(prevCp) : GENESIS, r[1]);
        cpIns.run(cp.seq, cp.leafHash, cp.prevCheckpoint, cp.ts, cp.keyId, cp.signature);
        prevCp = cp;
      }
    }
  })();
  db.close();
}

async function readAll(store) {
  const snap = await store.snapshot();
  let n = 0;
  for await (const b of snap.rows()) n += b.length;
  await snap.close();
  return n;
}

async function verifyFigures(name, store, n) {
  await readAll(store); // warm the page cache
  const read = report(name, `read every row (verify baseline), ${n} records`, await timed(() => readAll(store)));
  const check = async (opts) => {
    const r = await audit.verifyStore(store, [signer.publicKey], opts);
    if (!r.ok) throw new Error(`bench ledger does not verify: ${r.reason}`);
    return r.checked;
  };
  report(name, 'verify (streaming, hashing threads)', await timed(() => check({})), read);
  report(name, 'verify (streaming, main thread only)', await timed(() => check({ threads: 0 })), read);
}

async function sqliteVerify() {
  const file = path.join(dir, 'verify.db');
  buildVerifyLedger(file, VERIFY_RECORDS);
  const store = audit.SqliteAuditStore.open({ file, create: false });
  await verifyFigures('sqlite', store, VERIFY_RECORDS);
  // The record-by-record path (zod + RFC 8785 per record), which verify used for every record before.
  const records = await store.list({ limit: 50_000 });
  const m = await timed(async () => {
    const v = new audit.LedgerVerifier([], []);
    for (const r of records) v.push(r);
    return v.finish().checked;
  });
  report('memory', 'record by record (zod + RFC 8785), 50k records in memory', m);
  await store.close();
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

async function pgAppend(url, label) {
  const db = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${db}`;
  const store = await audit.PostgresAuditStore.open({ connectionString: u.toString(), poolSize: 4 });
  const pool = new Pool({ connectionString: u.toString(), max: 4 });
  pool.on('error', () => undefined);
  await pool.query('CREATE TABLE bare (LIKE audit_records INCLUDING ALL)');
  const values = COLS.split(',')
    .map((_, k) => `$${k + 1}`)
    .join(',');
  const bareInsert = (i) =>
    pool.query({ name: 'bare-insert', text: `INSERT INTO bare (${COLS}) VALUES (${values})`, values: row(i) });
  for (const clients of [1, 4]) {
    const start = clients * 10_000_000;
    const base = report(
      label,
      `bare INSERT (${clients} client${clients > 1 ? 's' : ''})`,
      await measure(bareInsert, { concurrency: clients, start }),
    );
    const app = await measure((i) => store.appendMany([input(i)]), { concurrency: clients, start });
    report(label, `append (${clients} client${clients > 1 ? 's' : ''}, durable in the intake)`, app, base);
    const t0 = Date.now();
    await store.sealer.drain();
    const backlog = await store.backlog();
    if (backlog.count) throw new Error(`sealer left ${backlog.count} records`);
    if (!JSON_OUT) console.log(`${' '.repeat(17)}(sealer caught up ${Date.now() - t0} ms after the last append)`);
  }
  await pool.end();
  return { store, db: u.toString() };
}

async function postgres() {
  if (process.env.BENCH_POSTGRES === '0') return;
  let pg;
  try {
    pg = await startPostgres();
  } catch (e) {
    if (!JSON_OUT) console.log(`audit postgres skipped: ${e.message}`);
    return;
  }
  const exited = new Promise((r) => pg.child.on('exit', r));
  try {
    // The harness runs PostgreSQL with fsync=off; a production server flushes every commit.
    const setFsync = async (on) => {
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      await c.query(`ALTER SYSTEM SET fsync = ${on ? 'on' : 'off'}`);
      await c.query('SELECT pg_reload_conf()');
      await c.end();
    };
    await setFsync(true);
    const durable = await pgAppend(pg.url, 'pg-fsync');
    await setFsync(false);
    const fast = await pgAppend(pg.url, 'pg-nofsync');
    await durable.store.close();
    // Verify: a ledger built straight into the tables, as for SQLite.
    const file = path.join(dir, 'verify.db');
    if (!fs.existsSync(file)) buildVerifyLedger(file, VERIFY_RECORDS);
    const src = new Database(file, { readonly: true });
    const c = new Client({ connectionString: fast.db });
    await c.connect();
    await c.query('TRUNCATE audit_records, audit_checkpoints');
    const rows = src.prepare(`SELECT ${COLS} FROM audit_records ORDER BY seq`).raw(true).all();
    for (let i = 0; i < rows.length; i += 5000) {
      const chunk = rows.slice(i, i + 5000);
      await c.query(
        `INSERT INTO audit_records (${COLS}) SELECT * FROM unnest($1::bigint[], ${Array.from({ length: 12 }, (_, k) => `$${k + 2}::text[]`).join(', ')})`,
        Array.from({ length: 13 }, (_, k) => chunk.map((r) => r[k])),
      );
    }
    for (const cp of src.prepare('SELECT * FROM audit_checkpoints').raw(true).all()) {
      await c.query('INSERT INTO audit_checkpoints VALUES ($1, $2, $3, $4, $5, $6)', cp);
    }
    src.close();
    await c.end();
    await verifyFigures('postgres', fast.store, rows.length);
    await fast.store.close();
  } finally {
    pg.child.stdin.end();
    await exited;
  }
}

(async () => {
  const header = {
    node: process.version,
    cpus: os.cpus().length,
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
  if (!JSON_OUT)
    console.log(
      `audit bench: node ${header.node}, ${header.cpus} CPUs, load ${header.loadavg.join(' ')}, data in ${dir}`,
    );
  if (process.env.BENCH_SQLITE !== '0') {
    await sqliteAppend();
    await sqliteVerify();
  }
  await postgres();
  if (JSON_OUT) console.log(JSON.stringify({ bench: 'audit', ...header, results }, null, 2));
})()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
