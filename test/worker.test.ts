import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startHealthServer } from '../src/worker';
import { freePort } from '../src/runtime/dev-server';
import { Readiness, ledgerCheck, temporalCheck, vaultCheck } from '../src/runtime/readiness';
import { createSecretStore } from '../src/credentials/from-config';
import { AuditLedger } from '../src/audit';
import { ROOT, isolatedKeysDir, runCli } from './harness/cli';
import { startTestStack, testServerAddress } from './harness/temporal';
import { waitFor } from './harness/wait';
import { testPolicy } from './harness/policies';
import { vendorTools } from './harness/tools';

interface ReadyBody {
  ready: boolean;
  state: string;
  checks: Record<string, { ok: boolean; error?: string }>;
}

describe('worker sticky cache', () => {
  it('keeps at most WARDEN_WORKER_MAX_CACHED_WORKFLOWS runs in memory (128 unless set)', async () => {
    const set = await startTestStack({ WARDEN_WORKER_MAX_CACHED_WORKFLOWS: '7' });
    try {
      expect(set.worker.options.maxCachedWorkflows).toBe(7);
    } finally {
      await set.stop();
    }
    const unset = await startTestStack();
    try {
      expect(unset.worker.options.maxCachedWorkflows).toBe(128);
    } finally {
      await unset.stop();
    }
  });
});

describe('workflow threads', () => {
  it('runs workflow code on WARDEN_WORKER_WORKFLOW_THREADS threads (1 unless set), and runs complete on them', async () => {
    const stack = await startTestStack(
      { WARDEN_WORKER_WORKFLOW_THREADS: '3' },
      { extraTools: vendorTools('http://127.0.0.1:9'), policy: testPolicy() },
    );
    try {
      expect(stack.worker.options.workflowThreadPoolSize).toBe(3);
      const playbook = {
        name: 'threads',
        steps: [{ id: 'lookup', kind: 'action' as const, tool: 'asset_lookup', args: { host: '{{ input.host }}' } }],
      };
      const hosts = ['dc01', 'ws01', 'ws02', 'dc02', 'ws03', 'ws04'];
      const ids = await Promise.all(
        hosts.map(
          async (host) =>
            (await stack.client.start('runPlaybook', { playbook, input: { host }, initiator: 'olivia' })).workflowId,
        ),
      );
      const results = await Promise.all(
        ids.map((id) =>
          stack.client.result<{ status: string; outputs: { lookup?: { host: string; criticality: string } } }>(id),
        ),
      );
      expect(results.map((r) => [r.status, r.outputs.lookup?.host, r.outputs.lookup?.criticality])).toEqual(
        hosts.map((h) => ['completed', h, h.startsWith('dc') ? 'critical' : 'low']),
      );
    } finally {
      await stack.stop();
    }
    const unset = await startTestStack();
    try {
      expect(unset.worker.options.workflowThreadPoolSize).toBe(1);
    } finally {
      await unset.stop();
    }
  });
});

describe('worker readiness probe', () => {
  it('answers 200 on /readyz while polling and 503 once drained', async () => {
    const stack = await startTestStack();
    const port = await freePort();
    const server = await startHealthServer(stack.worker, '127.0.0.1', port);
    try {
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      await stack.stop();
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { state: string }).state).toBe('STOPPED');
    } finally {
      server.close();
    }
  });

  it('answers 503 naming the dependency that fails: Temporal, the ledger, the vault', async () => {
    const stack = await startTestStack();
    const ledger = await AuditLedger.open(stack.config);
    const { vault } = createSecretStore(stack.config);
    const readiness = new Readiness(
      [temporalCheck(stack.client.temporal, stack.config.temporal.namespace), ledgerCheck(ledger), vaultCheck(vault)],
      {},
      200,
    ).start();
    const port = await freePort();
    const server = await startHealthServer(stack.worker, '127.0.0.1', port, readiness);
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { status: res.status, body: (await res.json()) as ReadyBody };
    };
    try {
      const ok = await waitFor(readyz, (r) => r.status === 200, 10_000);
      expect(Object.keys(ok.body.checks).sort()).toEqual(['ledger', 'polling', 'temporal', 'vault']);
      // A vault file nobody can read any more (a bad deploy, a damaged volume): not ready, and says which.
      fs.writeFileSync(stack.config.credentials.vaultFile, 'not json');
      const broken = await waitFor(readyz, (r) => r.status === 503, 10_000);
      expect(broken.body.checks.vault).toMatchObject({ ok: false });
      expect(broken.body.checks.temporal).toMatchObject({ ok: true });
      fs.rmSync(stack.config.credentials.vaultFile);
      await waitFor(readyz, (r) => r.status === 200, 10_000);
      await ledger.close();
      await waitFor(readyz, (r) => r.status === 503 && !r.body.checks.ledger!.ok, 10_000);
    } finally {
      readiness.stop();
      server.close();
      await stack.stop();
    }
  });
});

describe('warden worker start-up failures exit at once (a supervisor restarts it)', () => {
  const base = () => ({
    TEMPORAL_ADDRESS: testServerAddress(),
    WARDEN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'warden-worker-')),
    WARDEN_HEALTH_PORT: '0',
  });
  const timed = async (env: Record<string, string>) => {
    const t0 = Date.now();
    const r = await runCli(['worker'], env, undefined, 30_000);
    return { ...r, ms: Date.now() - t0 };
  };

  it('an invalid policy file: exit 2 within 5 s', async () => {
    const env = base();
    const file = path.join(env.WARDEN_DATA_DIR, 'policy.yaml');
    fs.writeFileSync(file, 'version: 1\nname: broken\nrules: 42\n');
    const r = await timed({ ...env, WARDEN_POLICY_FILE: file });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Invalid configuration:[\s\S]*rules/);
    expect(r.ms).toBeLessThan(5_000);
  });

  it('a policy file with a YAML syntax error: exit 2 within 5 s', async () => {
    const env = base();
    const file = path.join(env.WARDEN_DATA_DIR, 'policy.yaml');
    fs.writeFileSync(file, 'rules: [\n');
    const r = await timed({ ...env, WARDEN_POLICY_FILE: file });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not parse/);
    expect(r.ms).toBeLessThan(5_000);
  });

  it('a busy health port: exit 1 within 5 s, naming the port and the setting', async () => {
    const port = await freePort();
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(port, '0.0.0.0', resolve));
    try {
      const r = await timed({ ...base(), WARDEN_HEALTH_PORT: String(port) });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(new RegExp(`cannot listen on .*:${port} \\(port in use\\).*WARDEN_HEALTH_PORT$`));
      expect(r.ms).toBeLessThan(5_000);
    } finally {
      busy.close();
    }
  });

  it('runs, reports ready with its checks, and drains and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const env = { ...base(), WARDEN_HEALTH_PORT: String(port), WARDEN_HEALTH_HOST: '127.0.0.1' };
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'warden.js'), 'worker'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        WARDEN_KEYS_DIR: isolatedKeysDir(),
        ...env,
      },
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const ready = await waitFor(
        () =>
          fetch(`http://127.0.0.1:${port}/readyz`).then(
            async (r) => ({ status: r.status, body: (await r.json()) as ReadyBody }),
            () => ({ status: 0, body: undefined }),
          ),
        (r) => r.status === 200,
        60_000,
      );
      expect(ready.body?.checks).toMatchObject({ polling: { ok: true }, temporal: { ok: true }, ledger: { ok: true } });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
