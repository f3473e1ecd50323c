// A verification worker: recomputes leaf hashes of row batches off the main thread (see hash-pool.ts).
'use strict';
const { parentPort } = require('node:worker_threads');
const { checkRows } = require('./row-hash');

parentPort.on('message', (m) => {
  const flags = checkRows(m.rows);
  parentPort.postMessage({ id: m.id, flags }, [flags.buffer]);
});
