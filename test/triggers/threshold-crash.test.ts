import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Playbook } from '../../src/governance/steps';
import type { CompiledThresholdRule, ThresholdEntityView } from '../../src/triggers/threshold-contract';
import { thresholdEntityId, thresholdStateQuery } from '../../src/triggers/threshold-contract';
import { EventIngestor } from '../../src/triggers/threshold-ingest';
import { compileThresholdRules } from '../../src/triggers/threshold-rule';
import { ROOT } from '../harness/cli';
import { HARNESS_ENV } from '../harness/env';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';

/** A real worker process, so the test can kill it the way a crash would. */
function startWorker(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [path.join(ROOT, 'test', 'harness', 'bundled-worker.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

const USERS = ['ursula', 'victor', 'wanda'];
const PER_USER = 12;
const N = 3;

describe('threshold trigger across a worker crash (real worker process, real Temporal dev server)', () => {
  jest.setTimeout(300_000);
  let stack: TestStack;
  let vendor: FakeVendor;
  beforeAll(async () => {
    vendor = await startFakeVendor();
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
    await vendor?.close();
  });

  it('fires exactly one run per breach while the worker is killed mid-stream and replaced', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-threshold-crash-'));
    const policyFile = path.join(dir, 'policy.yaml');
    fs.writeFileSync(
      policyFile,
      [
        'version: 1',
        'rules:',
        '  - { id: vendor-posts, tool: http_request, effect: allow }',
        'tiers:',
        '  "1": { required: 1, stages: [{ groups: [ops], timeout: 1h }] }',
        '  "2": { required: 2, stages: [{ groups: [ops], timeout: 1h }] }',
        'groups: { ops: [alice, bob] }',
      ].join('\n'),
    );
    const taskQueue = `threshold-crash-${randomUUID()}`;
    const env = {
      TEMPORAL_ADDRESS: stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: taskQueue,
      WARDEN_DATA_DIR: dir,
      WARDEN_POLICY_FILE: policyFile,
      WARDEN_HTTP_ALLOWED_HOSTS: vendor.host,
      WARDEN_HEALTH_PORT: '0',
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
      WARDEN_LOG_LEVEL: 'warn',
      WARDEN_SHUTDOWN_GRACE_MS: '1000',
      [HARNESS_ENV.bundle]: process.env[HARNESS_ENV.bundle]!,
    };
    const playbook: Playbook = {
      name: 'contain-user',
      steps: [
        {
          id: 'effect',
          kind: 'action',
          tool: 'http_request',
          args: {
            method: 'POST',
            url: `${vendor.url}/lockouts`,
            body: { user: '{{ input.key }}', events: '{{ input.ids }}' },
          },
          context: {},
          onError: 'fail',
        },
      ],
    };
    // Cooldown 0: every N events of a user within the window are one breach (12 events → 4 breaches).
    const [rule] = compileThresholdRules(
      [
        {
          id: `crash-${randomUUID().slice(0, 8)}`,
          stream: 'logins',
          key: 'user',
          threshold: N,
          window: '10m',
          cooldown: '0s',
          playbook,
          input: { key: '{{ key }}', ids: '{{ events[*].id }}' },
        },
      ],
      () => playbook,
    ) as [CompiledThresholdRule];
    const ingestor = new EventIngestor({ client: stack.client.temporal, taskQueue, rules: [rule] });
    const t0 = Date.now() - 60 * 60_000;
    const eventsOf = (i: number) =>
      USERS.map((user) => ({ id: `${user}-${i}`, user, time: new Date(t0 + i * 10_000).toISOString() }));
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) await ingestor.ingest('logins', eventsOf(i));
    };
    const states = () =>
      Promise.all(
        USERS.map((u) =>
          stack.client.temporal.workflow
            .getHandle(thresholdEntityId(rule, u))
            .query(thresholdStateQuery)
            .catch(() => undefined),
        ),
      );
    const effects = () => vendor.requests.filter((r) => r.path === '/lockouts');
    // A worker that died (bad configuration) fails the test at once, with its output, instead of a timeout.
    const alive =
      <T>(read: () => Promise<T>) =>
      async () => {
        if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
        return read();
      };

    let worker = startWorker(env);
    try {
      await send(0, 5);
      // Some breaches have fired and their runs have acted: now kill the worker, mid-stream.
      await waitFor(
        alive(async () => effects().length),
        (n) => n >= 2,
        120_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\nworker output:\n${worker.output()}`);
      });
      worker.child.kill('SIGKILL');
      await new Promise((r) => worker.child.once('exit', r));
      // Events keep arriving while no worker runs (Temporal buffers the signals), including a retried delivery.
      await send(4, 9);
      worker = startWorker(env);
      await send(8, PER_USER);

      const final = (await waitFor(
        alive(states),
        (s) => s.every((v) => v?.stats.received === PER_USER + 2 && v.fires.length === PER_USER / N),
        180_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\nworker output:\n${worker.output()}`);
      })) as ThresholdEntityView[];
      for (const v of final) {
        expect(v.stats).toMatchObject({ counted: PER_USER, duplicates: 2, fired: PER_USER / N });
        expect(v.fires.every((f) => f.status === 'started')).toBe(true);
      }
      await waitFor(
        async () => effects().length,
        (n) => n >= USERS.length * (PER_USER / N),
        120_000,
      );
      // Exactly one effect per breach: each run acted once (idempotency keys), no breach ran twice, and
      // every event is in exactly one breach.
      const runs = new Set(effects().map((r) => r.idempotencyKey!.split('/')[0]));
      expect(runs.size).toBe(USERS.length * (PER_USER / N));
      for (const key of new Set(effects().map((r) => r.idempotencyKey!))) expect(vendor.applied.get(key)).toBe(1);
      const byRun = new Map(effects().map((r) => [r.idempotencyKey!.split('/')[0], r.body as { events: string[] }]));
      const ids = [...byRun.values()].flatMap((b) => b.events).sort();
      expect(ids).toEqual(USERS.flatMap((u) => Array.from({ length: PER_USER }, (_, i) => `${u}-${i}`)).sort());
    } finally {
      worker.child.kill('SIGTERM');
      await new Promise((r) => worker.child.once('exit', r));
    }
  });
});
