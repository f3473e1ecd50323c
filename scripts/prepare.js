#!/usr/bin/env node
// Runs on `npm install`: compiles TypeScript to dist/ and bundles the workflows (scripts/bundle-workflows.js)
// so `npx warden` and `npm start` work at once,
// then provisions the pinned Temporal binaries (scripts/setup-temporal.sh) and the embedded local model
// (scripts/setup-model.sh, which fails soft: without it Warden still installs). Skipped pieces say why.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (fs.existsSync(tsc)) {
  run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
  run(process.execPath, [path.join(root, 'scripts', 'copy-assets.js')]);
  run(process.execPath, [path.join(root, 'scripts', 'bundle-workflows.js')]);
} else if (!fs.existsSync(path.join(root, 'dist'))) {
  console.warn('warden: typescript is not installed and dist/ is missing; run `npm install` with dev dependencies.');
}
if (process.env.WARDEN_SKIP_TEMPORAL_SETUP === '1') {
  console.log('warden: WARDEN_SKIP_TEMPORAL_SETUP=1, not provisioning the Temporal CLI.');
} else {
  run('bash', [path.join(root, 'scripts', 'setup-temporal.sh')]);
}
// The local model is optional for Warden itself (agents can use any OpenAI-compatible endpoint): its setup
// exits 0 with a warning when it cannot install, and even a crash of it must not fail `npm install`.
const model = spawnSync('bash', [path.join(root, 'scripts', 'setup-model.sh')], { cwd: root, stdio: 'inherit' });
if (model.status !== 0) {
  console.warn(
    `warden: scripts/setup-model.sh failed (exit ${model.status ?? model.signal}); run \`npm run setup:model\` to retry.`,
  );
}
