// Appending checkpoints to the witness file, shared by witness.ts and the SQLite writer thread (threads
// load plain CommonJS by path, so this lives here rather than in TypeScript).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The witness file this host appends to inside a witness dir (one per host). */
function witnessFileName(host = os.hostname()) {
  return `checkpoints-${host.replace(/[^A-Za-z0-9._-]/g, '_')}.ndjson`;
}

/** Appends checkpoints as JSON lines with one write in append mode, flushed to disk before returning. */
function appendToWitness(dir, checkpoints) {
  if (!checkpoints.length) return;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = fs.openSync(path.join(dir, witnessFileName()), 'a', 0o600);
  try {
    fs.writeSync(fd, checkpoints.map((c) => `${JSON.stringify(c)}\n`).join(''));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = { appendToWitness, witnessFileName };
