// The SQLite ledger's single writer, on its own thread (see sqlite-writer.ts for the protocol): group
// commit without ever blocking the main event loop on fsync. Every message that arrived while the
// previous transaction was committing is appended in one BEGIN IMMEDIATE transaction (SQLite's write
// lock, shared by every process using the file, so processes cannot fork the chain either), with one
// durable commit. A checkpoint that falls due is signed inside that transaction, so records never
// outrun their checkpoint in what other readers see, and written to the witness after the commit.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { rowLeafHash } = require('./row-hash');
const { GENESIS, checkpointHash, signCheckpoint, syncSigner } = require('./checkpoint');
const { appendToWitness } = require('./witness-file');

const Database = require(workerData.sqlitePath);
const MAX_BATCH_ROWS = 4096;
const RECORD_COLUMNS =
  'seq, ts, idempotency_key, workflow_id, run_id, type, actor_kind, actor_id, data, trace_id, span_id, prev_hash, leaf_hash';
const CHECKPOINT_COLUMNS = 'seq, leaf_hash, prev_checkpoint, ts, key_id, signature';

const db = new Database(workerData.file, { fileMustExist: true });
db.pragma(`busy_timeout = ${workerData.busyTimeoutMs}`);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${workerData.synchronous}`);

const byKey = db.prepare(`SELECT ${RECORD_COLUMNS} FROM audit_records WHERE idempotency_key = ?`).raw(true);
const headStmt = db.prepare('SELECT seq, leaf_hash FROM audit_records ORDER BY seq DESC LIMIT 1').raw(true);
const insert = db.prepare(
  `INSERT INTO audit_records (${RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const latestCp = db.prepare(
  `SELECT seq, leaf_hash AS leafHash, prev_checkpoint AS prevCheckpoint, ts, key_id AS keyId, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`,
);
const tsAt = db.prepare('SELECT ts FROM audit_records WHERE seq = ?').pluck(true);
const insertCp = db.prepare(
  `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
);

let cfg; // { signer, every, intervalMs, witnessDir }
let signRetryAt = 0;
let signFailures = 0;
let closing = false;
const stats = { transactions: 0, records: 0 };
const queue = [];
let scheduled = false;

function configure(c) {
  cfg = c
    ? { signer: syncSigner(c.spec), every: c.every, intervalMs: c.intervalMs, witnessDir: c.witnessDir }
    : undefined;
}
if (workerData.checkpoints) configure(workerData.checkpoints);

function warn(message) {
  parentPort.postMessage({ op: 'warn', message });
}

/** Inside a write transaction: signs and stores a checkpoint of `head` when due (or forced). */
function maybeCheckpoint(head, at, force) {
  if (!cfg || !head) return undefined;
  const latest = latestCp.get();
  const cpSeq = latest ? latest.seq : 0;
  if (head.seq <= cpSeq) return undefined;
  if (!force) {
    if (at < signRetryAt) return undefined;
    // The first records are anchored at once: a ledger without any checkpoint is then always an anomaly.
    let due = cpSeq === 0 || head.seq - cpSeq >= cfg.every;
    if (!due && cfg.intervalMs > 0) {
      const oldest = Date.parse(tsAt.get(cpSeq + 1));
      due = !Number.isFinite(oldest) || at - oldest >= cfg.intervalMs;
    }
    if (!due) return undefined;
  }
  try {
    const cp = signCheckpoint(cfg.signer, head, latest ? checkpointHash(latest) : GENESIS, new Date(at).toISOString());
    insertCp.run(cp.seq, cp.leafHash, cp.prevCheckpoint, cp.ts, cp.keyId, cp.signature);
    signFailures = 0;
    signRetryAt = 0;
    return cp;
  } catch (err) {
    // The records commit regardless; back off so a broken signer does not hold the write lock per batch.
    signFailures++;
    signRetryAt = at + Math.min(60_000, 500 * 2 ** Math.min(signFailures, 7));
    warn(`audit checkpoint not signed (retrying in ${signRetryAt - at} ms): ${err.message}`);
    if (force) throw err;
    return undefined;
  }
}

function witness(cp) {
  if (!cp || !cfg || !cfg.witnessDir) return;
  try {
    appendToWitness(cfg.witnessDir, [cp]);
  } catch (err) {
    warn(
      `audit checkpoint ${cp.seq} is in the ledger but could not be written to the witness ${cfg.witnessDir}: ${err.message}`,
    );
  }
}

/** One transaction for a group of append messages; returns the stored row of every input row. */
const appendTx = db.transaction((messages, at) => {
  const h = headStmt.get();
  let head = h ? { seq: Number(h[0]), leafHash: h[1] } : undefined;
  const out = messages.map((m) =>
    m.rows.map((row) => {
      const existing = byKey.get(row[2]);
      if (existing) {
        // A key reused for another record is the caller's bug: refuse the whole message, write nothing.
        if (existing[3] !== row[3] || existing[5] !== row[5])
          throw Object.assign(new Error('key conflict'), { conflict: existing });
        return existing;
      }
      row[0] = (head ? head.seq : 0) + 1;
      row[11] = head ? head.leafHash : GENESIS;
      row[12] = rowLeafHash(row);
      insert.run(row);
      head = { seq: row[0], leafHash: row[12] };
      return row;
    }),
  );
  return { out, checkpoint: maybeCheckpoint(head, at, false) };
});

const checkpointTx = db.transaction((at, force) => {
  const h = headStmt.get();
  return maybeCheckpoint(h ? { seq: Number(h[0]), leafHash: h[1] } : undefined, at, force);
});

function runAppends(messages) {
  const at = Math.max(...messages.map((m) => m.at));
  try {
    const { out, checkpoint } = appendTx.immediate(messages, at);
    stats.transactions++;
    stats.records += messages.reduce((n, m) => n + m.rows.length, 0);
    witness(checkpoint);
    messages.forEach((m, i) => parentPort.postMessage({ id: m.id, rows: out[i] }));
  } catch (err) {
    if (messages.length > 1) {
      // One bad message must not fail its neighbours: retry each alone.
      for (const m of messages) runAppends([m]);
      return;
    }
    if (err && err.conflict) return parentPort.postMessage({ id: messages[0].id, conflict: err.conflict });
    parentPort.postMessage({
      id: messages[0].id,
      error: String(err && err.message ? err.message : err),
      code: err && err.code,
    });
  }
}

function runOne(m) {
  try {
    if (m.op === 'checkpoint') {
      const cp = checkpointTx.immediate(m.at, m.force);
      witness(cp);
      parentPort.postMessage({ id: m.id, checkpoint: cp });
    } else if (m.op === 'addCheckpoint') {
      const c = m.checkpoint;
      db.transaction(() => insertCp.run(c.seq, c.leafHash, c.prevCheckpoint, c.ts, c.keyId, c.signature)).immediate();
      parentPort.postMessage({ id: m.id });
    } else if (m.op === 'stats') {
      parentPort.postMessage({ id: m.id, stats });
    } else if (m.op === 'configure') {
      configure(m.checkpoints);
      parentPort.postMessage({ id: m.id });
    }
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message ? err.message : err), code: err && err.code });
  }
}

function drain() {
  scheduled = false;
  while (queue.length) {
    if (queue[0].op !== 'append') {
      runOne(queue.shift());
      continue;
    }
    const group = [];
    let rows = 0;
    while (queue.length && queue[0].op === 'append' && (rows === 0 || rows + queue[0].rows.length <= MAX_BATCH_ROWS)) {
      const m = queue.shift();
      rows += m.rows.length;
      group.push(m);
    }
    runAppends(group);
    // Let messages that arrived during the commit join the next group.
    if (queue.length === 0) break;
  }
  if (closing && queue.length === 0) {
    db.close();
    process.exit(0);
  }
}

parentPort.on('message', (m) => {
  if (m.op === 'close') closing = true;
  else queue.push(m);
  if (!scheduled) {
    scheduled = true;
    setImmediate(drain);
  }
});
