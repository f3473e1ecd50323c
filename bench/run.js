#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.js, each in its own process, one after another, so one
// benchmark's garbage or open handles never skew the next. `node bench/run.js audit` runs only files
// whose name contains "audit". Benchmarks load the compiled code from dist/ (the npm script builds it).
// A benchmark prints plain lines: what it measured, its rate or latency, and a ratio against a baseline
// measured in the same run, so figures compare across machines; with `--json`, one JSON document.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

// Flags (`--json`) go to every benchmark; other arguments select benchmark files.
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (!fs.existsSync(path.join(__dirname, '..', 'dist'))) {
  console.error('bench: dist/ is missing: run `npm run build` first (or `npm run bench`, which builds).');
  process.exit(1);
}
const benches = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.js') && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort();
if (benches.length === 0) {
  console.error(`bench: no bench/*.bench.js matches ${filters.join(' ')}`);
  process.exit(1);
}
// With `--json` each benchmark's stdout is its one JSON document: they are collected into one object keyed
// by benchmark file and printed at the end, instead of interleaved output.
const json = flags.includes('--json');
const combined = {};
let failed = 0;
for (const file of benches) {
  if (!json) console.log(`== ${file}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, file), ...flags], {
    stdio: ['ignore', json ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(((Date.now() - started) / 1000).toFixed(1));
  if (json) {
    try {
      combined[file] = { ...JSON.parse(r.stdout), seconds };
    } catch {
      combined[file] = { error: `no JSON document on stdout: ${String(r.stdout).slice(0, 500)}` };
    }
    if (r.status !== 0) {
      failed++;
      combined[file] = { ...combined[file], error: `exit ${r.status ?? r.signal}` };
    }
  } else if (r.status !== 0) {
    failed++;
    console.log(`!! ${file} failed (exit ${r.status ?? r.signal})`);
  } else {
    console.log(`   (${seconds.toFixed(1)} s)`);
  }
}
if (json) console.log(JSON.stringify(combined, null, 2));
process.exit(failed ? 1 : 0);
