#!/usr/bin/env node
// Records the workflow bundle of a released Warden version as a test fixture, so the upgrade test can run
// real runs on that build and then move them to the current one (docs/operations.md "Upgrades").
// Usage: node scripts/record-release-bundle.js <git-ref> <version>   (e.g. 975433a 0.1.0)
// Writes test/fixtures/releases/<version>-workflows.js.gz. Needs the repository's git history and node_modules.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const [ref, version] = process.argv.slice(2);
if (!ref || !version) {
  console.error('usage: node scripts/record-release-bundle.js <git-ref> <version>');
  process.exit(2);
}
const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `warden-${version}-`));
execFileSync('bash', ['-c', `git -C "${root}" archive "${ref}" src package.json | tar -x -C "${tmp}"`], {
  stdio: 'inherit',
});
fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'), 'dir');

const { bundleWorkflowCode } = require('@temporalio/worker');
bundleWorkflowCode({
  workflowsPath: path.join(tmp, 'src', 'workflows', 'index.ts'),
  workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
  logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
}).then(
  ({ code: withMap }) => {
    // The inline source map is most of the bundle and the upgrade test does not need it; the worker insists
    // on an inline map, so an empty one takes its place.
    const empty = Buffer.from(
      JSON.stringify({ version: 3, file: 'workflow-bundle.js', sources: [], names: [], mappings: '' }),
    ).toString('base64');
    const code = withMap.replace(
      /\n\/\/# sourceMappingURL=data:[^\n]*\n?$/,
      `\n//# sourceMappingURL=data:application/json;base64,${empty}\n`,
    );
    const out = path.join(root, 'test', 'fixtures', 'releases', `${version}-workflows.js.gz`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, zlib.gzipSync(Buffer.from(code), { level: 9 }));
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(
      `wrote ${path.relative(root, out)} (${(fs.statSync(out).size / 1024).toFixed(0)} KiB gzip, ${(code.length / 1024).toFixed(0)} KiB)`,
    );
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
