#!/usr/bin/env node
// Runs after the TypeScript build (npm run build, npm install): writes dist/workflow-bundle.js, the
// workflow code every worker loads, unless the one there was already made from this exact code.
'use strict';
const path = require('node:path');

const dist = path.resolve(__dirname, '..', 'dist');
const { writeWorkflowBundle } = require(path.join(dist, 'runtime', 'workflow-bundle.js'));
const { createLogger } = require(path.join(dist, 'telemetry', 'logger.js'));

const started = Date.now();
writeWorkflowBundle(createLogger({ level: 'warn' })).then(
  (bundled) => {
    if (bundled)
      console.log(`warden: workflow bundle written to dist/ in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  },
  (err) => {
    console.error(`warden: bundling the workflows failed: ${err.stack ?? err}`);
    process.exit(1);
  },
);
