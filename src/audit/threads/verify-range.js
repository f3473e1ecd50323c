// A verification worker that reads its own seq range of a SQLite ledger (see verify-store.ts): it
// recomputes every row's leaf hash from the stored columns, checks that seqs run from `from` to `to` with
// no gap and that each row's prev_hash is its predecessor's leaf hash, and reports the range's ends and the
// leaf hashes at the seqs checkpoints pin. The main thread joins ranges end to end. Reading rows costs as
// much as hashing them, so each thread reading its own range is what lets verification use every core.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');
const { RECORD_COLUMNS, rowLeafHash } = require('./row-hash');

/** Checks rows `from`..`to` of the ledger in `file`; `pins` are the seqs whose leaf hashes to report. */
function checkRange(file, from, to, pins) {
  const pinned = new Set(pins);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const stmt = db
      .prepare(`SELECT ${RECORD_COLUMNS} FROM audit_records WHERE seq BETWEEN ? AND ? ORDER BY seq`)
      .raw(true);
    const out = { ok: true, firstPrev: null, lastPrev: null, lastLeaf: null, pinLeaves: [] };
    let expected = from;
    for (const r of stmt.iterate(from, to)) {
      if (
        Number(r[0]) !== expected ||
        typeof r[12] !== 'string' ||
        (expected !== from && r[11] !== out.lastLeaf) ||
        rowLeafHash(r) !== r[12]
      ) {
        out.ok = false;
        break;
      }
      if (expected === from) out.firstPrev = r[11];
      if (pinned.has(expected)) out.pinLeaves.push([expected, r[12]]);
      out.lastPrev = r[11];
      out.lastLeaf = r[12];
      expected++;
    }
    if (expected !== to + 1) out.ok = false;
    return out;
  } finally {
    db.close();
  }
}

try {
  parentPort.postMessage(checkRange(workerData.file, workerData.from, workerData.to, workerData.pins));
} catch (err) {
  parentPort.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
}
