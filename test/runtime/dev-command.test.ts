import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { portInUse } from '../../src/runtime/dev-server';
import { reservedRangePort } from '../harness/ports';
import { ROOT, isolatedKeysDir, runCli } from '../harness/cli';
import { startScriptedLlm } from '../harness/scripted-llm';
import { testServerAddress } from '../harness/temporal';
import { waitFor } from '../harness/wait';

interface Dev {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
}

function startDev(env: Record<string, string>): Promise<Dev> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'warden.js'), 'dev'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WARDEN_KEYS_DIR: isolatedKeysDir(), ...env },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warden dev did not start in 120 s:\n${out}`)), 120_000);
    const check = () => {
      if (out.includes('Warden is running.')) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`warden dev exited (${code}) during startup:\n${out}`));
    });
  });
}

function stopDev(dev: Dev): Promise<number | null> {
  return new Promise((resolve) => {
    dev.child.removeAllListeners('exit');
    dev.child.once('exit', (code) => resolve(code));
    dev.child.kill('SIGTERM');
  });
}

function processesMentioning(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

describe('warden dev (npm start)', () => {
  jest.setTimeout(300_000);

  it('starts the stack, serves the Web UI, survives a restart, and leaves nothing behind on SIGTERM', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-dev-'));
    const ports = {
      temporal: await reservedRangePort(),
      ui: await reservedRangePort(),
      http: await reservedRangePort(),
    };
    const env = {
      WARDEN_DATA_DIR: dataDir,
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
      WARDEN_TEMPORAL_PORT: String(ports.temporal),
      WARDEN_UI_PORT: String(ports.ui),
      WARDEN_HTTP_PORT: String(ports.http),
      WARDEN_DEMO: 'off',
      // This test is about the stack's lifecycle; test/model covers the embedded model.
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    };

    const dev = await startDev(env);
    expect(dev.output()).toContain(`Temporal Web UI   http://127.0.0.1:${ports.ui}`);
    expect((await fetch(`http://127.0.0.1:${ports.ui}/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.http}/readyz`)).status).toBe(200);

    const id = `dev-restart-${Date.now()}`;
    const run = await runCli(['run', 'healthCheck', '--id', id, '--wait'], env);
    expect(run.code).toBe(0);
    // The runs API needs a caller identity: an API token from the same data directory.
    expect((await fetch(`http://127.0.0.1:${ports.http}/v1/runs/${id}`)).status).toBe(401);
    const created = await runCli(['tokens', 'create', 'dev-test', '--scopes', 'runs:read'], env);
    const auth = { headers: { authorization: `Bearer ${created.stdout.trim()}` } };
    const viaHttp = (await (await fetch(`http://127.0.0.1:${ports.http}/v1/runs/${id}`, auth)).json()) as {
      status: string;
    };
    expect(viaHttp.status).toBe('COMPLETED');
    expect((await fetch(`http://127.0.0.1:${ports.http}/v1/runs/nope`, auth)).status).toBe(404);

    expect(await stopDev(dev)).toBe(0);
    expect(dev.output()).toContain('warden: stopped.');
    expect(processesMentioning(dataDir)).toEqual([]);
    for (const p of Object.values(ports)) expect(await portInUse(p)).toBe(false);

    const again = await startDev(env);
    const ls = await runCli(['ls', '--json'], env);
    expect((JSON.parse(ls.stdout) as { workflowId: string }[]).map((r) => r.workflowId)).toContain(id);
    expect(await stopDev(again)).toBe(0);
    expect(processesMentioning(dataDir)).toEqual([]);
  });

  it('kill -9 of warden dev leaves nothing that blocks the next start (watchdog, then orphan clean-up)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-dev-'));
    const ports = {
      temporal: await reservedRangePort(),
      ui: await reservedRangePort(),
      http: await reservedRangePort(),
    };
    const env = {
      WARDEN_DATA_DIR: dataDir,
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
      WARDEN_TEMPORAL_PORT: String(ports.temporal),
      WARDEN_UI_PORT: String(ports.ui),
      WARDEN_HTTP_PORT: String(ports.http),
      WARDEN_DEMO: 'off',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    };
    const killed = (dev: Dev) =>
      new Promise<void>((resolve) => {
        dev.child.removeAllListeners('exit');
        dev.child.once('exit', () => resolve());
        dev.child.kill('SIGKILL');
      });

    // 1. Only warden dev dies: its watchdog stops the Temporal server by itself.
    await killed(await startDev(env));
    await waitFor(
      async () => processesMentioning(dataDir),
      (ps) => ps.length === 0,
      30_000,
    );
    expect(await portInUse(ports.temporal)).toBe(false);

    // 2. warden dev and the watchdog both die (kill -9 of both): the server may be left orphaned, holding
    // its ports (unless it dies writing to its closed log pipe). The next start must work regardless:
    // it finds an orphan by its pid file and command line and stops it (test/runtime/process-guard.test.ts).
    const second = await startDev(env);
    const guard = JSON.parse(fs.readFileSync(path.join(dataDir, 'temporal.db.pid'), 'utf8')) as {
      watcherPid: number;
      childPid: number;
    };
    process.kill(guard.watcherPid, 'SIGKILL');
    await killed(second);
    const orphaned = processesMentioning(dataDir).some((l) => l.trim().startsWith(`${guard.childPid} `));

    const third = await startDev(env);
    if (orphaned)
      expect(third.output()).toMatch(
        new RegExp(`stopped a Temporal server .* left running \\(pid .*${guard.childPid}.*\\)`),
      );
    expect((await runCli(['run', 'healthCheck', '--wait'], env)).code).toBe(0);
    expect(await stopDev(third)).toBe(0);
    expect(processesMentioning(dataDir)).toEqual([]);
  });

  it('uses an existing cluster when TEMPORAL_ADDRESS is set, and refuses a busy port clearly', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-dev-'));
    const http = await reservedRangePort();
    const dev = await startDev({
      WARDEN_DATA_DIR: dataDir,
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
      TEMPORAL_ADDRESS: testServerAddress(),
      WARDEN_HTTP_PORT: String(http),
      WARDEN_DEMO: 'off',
    });
    expect(dev.output()).toContain(`using Temporal at ${testServerAddress()}`);
    expect(dev.output()).not.toContain('Temporal Web UI');

    // A second embedded stack on the port the test server already uses is refused with what to do.
    const busyPort = testServerAddress().split(':')[1]!;
    const clash = await runCli(['dev'], {
      WARDEN_DATA_DIR: dataDir,
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
      WARDEN_TEMPORAL_PORT: busyPort,
      WARDEN_HTTP_PORT: String(await reservedRangePort()),
    });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(new RegExp(`port ${busyPort} \\(gRPC\\) on 127.0.0.1 is already in use`));
    expect(await stopDev(dev)).toBe(0);
  });

  it('the demo sends the sample alerts through triage; a low-confidence verdict waits for a human', async () => {
    const llm = await startScriptedLlm();
    const verdict = JSON.stringify({
      verdict: 'suspicious',
      confidence: 0.3,
      rationale: 'not enough evidence',
      recommendedActions: [],
    });
    llm.script('demo-model', [{ content: verdict }], { repeatLast: true });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-dev-'));
    const env = {
      WARDEN_DATA_DIR: dataDir,
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
      TEMPORAL_ADDRESS: testServerAddress(),
      WARDEN_TASK_QUEUE: `demo-${Date.now()}`,
      WARDEN_HTTP_PORT: String(await reservedRangePort()),
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-test',
      WARDEN_LLM_MODEL: 'demo-model',
      WARDEN_KEYS_DIR: path.join(dataDir, 'keys'),
    };
    const dev = await startDev(env);
    try {
      const out = await waitFor(
        async () => dev.output(),
        (o) => o.includes('npx warden approvals'),
        60_000,
      );
      for (const source of ['crowdstrike', 'suricata', 'guardduty'])
        expect(out).toMatch(new RegExp(`${source}\\s+→ run alert-${source}-`));
      const approvals = await waitFor(
        async () => JSON.parse((await runCli(['approvals', '--json'], env)).stdout) as { action: string }[],
        (l) => l.length === 3,
        60_000,
      );
      expect(approvals.map((a) => a.action)).toEqual(
        Array(3).fill(expect.stringMatching(/^approve: Review verdict suspicious \(0\.3\)/)),
      );
      // The quickstart's approvals are signed: `warden dev` gave the demo approvers keys in WARDEN_KEYS_DIR.
      expect(out).toMatch(/approvers .*alice.* sign with keys in/);
      const [first] = approvals as unknown as { workflowId: string; approvalId: string; eligible: string[] }[];
      const approver = first!.eligible[0]!;
      const ok = await runCli(['approve', first!.workflowId, first!.approvalId, '--as', approver], env);
      expect(ok.stdout).toMatch(/accepted/);
      expect(fs.statSync(path.join(env.WARDEN_KEYS_DIR, `${approver}.key.json`)).mode & 0o777).toBe(0o600);
    } finally {
      await stopDev(dev);
      await llm.close();
    }
  });
});
