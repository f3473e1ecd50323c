// Leaf hashes straight from stored columns, without parsing the record: the fast path of the SQLite
// writer thread and of verification. Plain CommonJS because worker threads load it by path (ts-jest does
// not transform files a worker loads); test/audit/row-hash.test.ts proves it equals hash.ts's
// leafHashOf (RFC 8785) for every shape of record.
//
// A row is an array in RECORD_COLUMNS order:
//   0 seq, 1 ts, 2 idempotency_key, 3 workflow_id, 4 run_id, 5 type, 6 actor_kind, 7 actor_id, 8 data,
//   9 trace_id, 10 span_id, 11 prev_hash, 12 leaf_hash
// `data` must hold the canonical JSON text of the data object (what the stores write). RFC 8785 sorts
// keys by UTF-16 code units: actor < data < idempotencyKey < prevHash < runId < seq < spanId < traceId
// < ts < type < workflowId, and serialises strings exactly as JSON.stringify does.
'use strict';
const crypto = require('node:crypto');

// One-shot hashing (Node ≥ 20.12) is about twice as fast as createHash for short inputs; verification
// hashes every row, so it shows.
const sha256Hex =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');

/** The record columns, in the order rows hold them (the SQL select list of every reader and writer). */
const RECORD_COLUMNS =
  'seq, ts, idempotency_key, workflow_id, run_id, type, actor_kind, actor_id, data, trace_id, span_id, prev_hash, leaf_hash';

const J = JSON.stringify;
const DIGITS = /^[1-9][0-9]*$/;

/** The seq as canonical JSON text, or undefined when the column holds no positive integer. */
function seqText(seq) {
  if (typeof seq === 'number') return Number.isSafeInteger(seq) && seq > 0 ? String(seq) : undefined;
  if (typeof seq === 'bigint') return seq > 0n ? seq.toString() : undefined;
  if (typeof seq === 'string') return DIGITS.test(seq) && Number.isSafeInteger(Number(seq)) ? seq : undefined;
  return undefined;
}

const isStr = (v) => typeof v === 'string';
const isOptStr = (v) => v === null || typeof v === 'string';

/** RFC 8785 JSON of the record a row holds, or undefined when a column has a type no record can have. */
function rowCanonical(r) {
  const seq = seqText(r[0]);
  if (
    seq === undefined ||
    !isStr(r[1]) ||
    !isStr(r[2]) ||
    !isStr(r[3]) ||
    !isOptStr(r[4]) ||
    !isStr(r[5]) ||
    !isStr(r[6]) ||
    !isStr(r[7]) ||
    !isStr(r[8]) ||
    !isOptStr(r[9]) ||
    !isOptStr(r[10]) ||
    !isStr(r[11])
  ) {
    return undefined;
  }
  let s = `{"actor":{"id":${J(r[7])},"kind":${J(r[6])}},"data":${r[8]},"idempotencyKey":${J(r[2])},"prevHash":${J(r[11])}`;
  if (r[4] !== null) s += `,"runId":${J(r[4])}`;
  s += `,"seq":${seq}`;
  if (r[10] !== null) s += `,"spanId":${J(r[10])}`;
  if (r[9] !== null) s += `,"traceId":${J(r[9])}`;
  return `${s},"ts":${J(r[1])},"type":${J(r[5])},"workflowId":${J(r[3])}}`;
}

/** sha256 hex of {@link rowCanonical}, or undefined. */
function rowLeafHash(r) {
  const text = rowCanonical(r);
  return text === undefined ? undefined : sha256Hex(text);
}

/** For each row, 1 when its leaf_hash column equals the hash of its other columns, else 0. */
function checkRows(rows) {
  const flags = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    flags[i] = Array.isArray(r) && typeof r[12] === 'string' && rowLeafHash(r) === r[12] ? 1 : 0;
  }
  return flags;
}

module.exports = { RECORD_COLUMNS, rowCanonical, rowLeafHash, checkRows };
