#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');

// `warden audit verify | head -1`: the reader went away; that is not an error of ours, so exit quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

const entry = path.join(__dirname, '..', 'dist', 'cli', 'index.js');
if (!fs.existsSync(entry)) {
  console.error('warden: dist/ is missing — run `npm install` (it builds the project) or `npm run build`.');
  process.exit(1);
}
require(entry)
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
    // The command is done. Whatever still holds the event loop (the Temporal SDK's native runtime, a
    // connection's retry timer) must not keep a failed `warden worker` alive with no pollers: a supervisor
    // that restarts on exit would never restart it. Success gets a short grace to flush, failure none.
    if (code !== 0) process.exit(code);
    setTimeout(() => process.exit(code), 2000).unref();
  });
