import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AuditLedger } from '../../src/audit';
import { loadConfig } from '../../src/config';
import { freePort } from '../../src/runtime/dev-server';
import type { CliResult } from '../harness/cli';
import { ROOT, isolatedKeysDir, runCli } from '../harness/cli';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';

/** One line on stderr saying what failed (besides warnings), no stack frames. */
function expectOneLine(r: CliResult, pattern: RegExp): void {
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('warden: warning:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at .*:\d+/);
}

/** Something listening on a loopback port, for "port in use". */
async function occupy(): Promise<{ port: number; close: () => void }> {
  const port = await freePort();
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(port, '0.0.0.0', resolve));
  return { port, close: () => srv.close() };
}

/** A ledger with records and a checkpoint, in a fresh data dir; returns the data dir and its public key file. */
async function ledgerWithRecords(n: number): Promise<{ dataDir: string; publicKey: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-cli-ledger-'));
  const ledger = await AuditLedger.open(loadConfig({ WARDEN_DATA_DIR: dataDir }));
  for (let i = 0; i < n; i++)
    await ledger.append({
      idempotencyKey: `k${i}`,
      workflowId: `wf-${i}`,
      runId: 'r',
      type: 'test.record',
      actor: { kind: 'system', id: 'warden' },
      data: { i },
      ts: new Date().toISOString(),
    });
  await ledger.checkpoint();
  await ledger.close();
  return { dataDir, publicKey: path.join(`${dataDir}-keys`, 'audit-signing.pub') };
}

describe('CLI error paths: one clear line and a documented exit code, never a stack trace', () => {
  let stack: TestStack;
  let env: Record<string, string>;
  beforeAll(async () => {
    stack = await startTestStack();
    env = {
      TEMPORAL_ADDRESS: stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: stack.config.taskQueue,
      WARDEN_DATA_DIR: stack.config.dataDir,
    };
  });
  afterAll(() => stack.stop());

  it('warden serve on an HTTP port in use: exit 1, names the port and the setting', async () => {
    const busy = await occupy();
    try {
      const r = await runCli(['serve'], { ...env, WARDEN_HTTP_PORT: String(busy.port) });
      expect(r.code).toBe(1);
      expectOneLine(r, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy.port} \\(port in use\\).*WARDEN_HTTP_PORT`));
    } finally {
      busy.close();
    }
  });

  it('warden run on a deeply nested playbook: exit 1, no run started', async () => {
    let step = '{"id":"leaf","kind":"branch","when":"true","then":[],"else":[]}';
    for (let i = 0; i < 3000; i++) step = `{"id":"b${i}","kind":"branch","when":"true","then":[${step}],"else":[]}`;
    const file = path.join(stack.config.dataDir, 'deep.json');
    fs.writeFileSync(file, `{"name":"deep","steps":[${step}]}`);
    const r = await runCli(['run', 'runPlaybook', '-p', file, '--id', 'deep-playbook'], {
      ...env,
      WARDEN_KEYS_DIR: isolatedKeysDir(),
    });
    expect(r.code).toBe(1);
    expectOneLine(r, /nests more than 64 levels deep/);
    await expect(stack.client.describe('deep-playbook')).rejects.toThrow(/no run/);
  });

  it('warden run --wait on a run that fails: exit 1 with the failure type and message', async () => {
    const file = path.join(stack.config.dataDir, 'fails.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: 'fails',
        steps: [{ id: 'x', kind: 'action', tool: 'no_such_tool', args: {}, onError: 'fail' }],
      }),
    );
    const r = await runCli(['run', 'runPlaybook', '-p', file, '--wait'], env);
    expect(r.code).toBe(1);
    expectOneLine(r, /^warden: the run failed \(PolicyDenied\): .*no_such_tool/);
  });

  it('audit verify on a ledger missing its checkpoint table: exit 1, says what is wrong', async () => {
    const { dataDir, publicKey } = await ledgerWithRecords(3);
    const db = new Database(path.join(dataDir, 'audit.db'));
    db.exec('DROP TABLE audit_checkpoints');
    db.close();
    const r = await runCli(['audit', 'verify', '--public-key', publicKey], { WARDEN_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expectOneLine(r, /no audit_checkpoints table/);
  });

  it('audit verify into a closed pipe (| head -1): exits quietly with 0', async () => {
    const { dataDir, publicKey } = await ledgerWithRecords(2);
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bin', 'warden.js'), 'audit', 'verify', '--public-key', publicKey],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WARDEN_DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // The reader goes away before anything is written, as `head -1` does after its line.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('kill-switch on without --as is refused: no OS login stands in for a principal', async () => {
    const r = await runCli(['kill-switch', 'on', '--reason', 'test'], env);
    expect(r.code).toBe(1);
    expectOneLine(r, /kill-switch on needs --as <you>/);
  });
});
