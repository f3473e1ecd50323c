import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Playbook } from '../../src/governance/steps';
import { ROOT } from '../harness/cli';
import { startFakeCrowdStrike } from '../harness/fake-crowdstrike';
import type { FakeCrowdStrike } from '../harness/fake-crowdstrike';
import { startFakeOkta } from '../harness/fake-okta';
import type { FakeOkta } from '../harness/fake-okta';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { waitFor } from '../harness/wait';

const OKTA_TOKEN = '00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcd';

const containPlaybook = (steps: Array<{ id: string; tool: string; args: Record<string, unknown> }>): Playbook => ({
  name: 'contain',
  steps: steps.map((s) => ({ ...s, kind: 'action' as const, context: {}, onError: 'fail' as const })),
});

type RunResult = { status: string; outputs: Record<string, Record<string, unknown>> };

describe('a vendor write whose first attempt did not complete is reported as this run’s change (real Temporal dev server)', () => {
  jest.setTimeout(180_000);
  let falcon: FakeCrowdStrike;
  let okta: FakeOkta;
  beforeAll(async () => {
    falcon = await startFakeCrowdStrike();
    okta = await startFakeOkta(OKTA_TOKEN);
    process.env.WARDEN_SECRET_CROWDSTRIKE_API_TOKEN = `${falcon.clientId}:${falcon.clientSecret}`;
    process.env.WARDEN_SECRET_OKTA_API_TOKEN = OKTA_TOKEN;
  });
  afterAll(async () => {
    delete process.env.WARDEN_SECRET_CROWDSTRIKE_API_TOKEN;
    delete process.env.WARDEN_SECRET_OKTA_API_TOKEN;
    await falcon.close();
    await okta.close();
  });

  it('Falcon and Okta apply the change but the answer is lost: the retry reports changed: true, nothing is sent twice', async () => {
    const stack: TestStack = await startTestStack(
      { WARDEN_CROWDSTRIKE_BASE_URL: falcon.url, WARDEN_OKTA_BASE_URL: okta.url },
      {
        policy: testPolicy({
          rules: [
            { id: 'contain-alone', tool: 'edr_isolate_host', effect: 'allow' },
            { id: 'suspend-alone', tool: 'idp_disable_user', effect: 'allow' },
          ],
        }),
      },
    );
    try {
      const host = falcon.addDevice('web-lost-1');
      const user = okta.addUser('mallory@example.com');
      falcon.loseNextActionAnswers(1);
      okta.loseNextLifecycleAnswers(1);
      const { workflowId } = await stack.client.start('runPlaybook', {
        playbook: containPlaybook([
          { id: 'contain', tool: 'edr_isolate_host', args: { hostname: 'web-lost-1' } },
          { id: 'suspend', tool: 'idp_disable_user', args: { user: 'mallory@example.com' } },
        ]),
        input: {},
        initiator: 'olivia',
      });
      const result = await stack.client.result<RunResult>(workflowId);
      expect(result.status).toBe('completed');
      expect(result.outputs.contain).toMatchObject({ deviceId: host, changed: true, appliedByEarlierAttempt: true });
      expect(result.outputs.suspend).toMatchObject({ userId: user, changed: true, appliedByEarlierAttempt: true });
      expect(falcon.actionsFor(host)).toEqual([{ deviceId: host, action: 'contain', outcome: 'applied' }]);
      expect(okta.operations.filter((o) => o.userId === user && o.op === 'suspend')).toHaveLength(1);
      // Each tool call took two attempts: the second read the first's announcement from Temporal.
      const history = await stack.client.temporal.workflow.getHandle(workflowId).fetchHistory();
      const attempts = (history.events ?? [])
        .filter((e) => e.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(attempts).toEqual(expect.arrayContaining([2, 2]));
    } finally {
      await stack.stop();
    }
  });

  it('a worker killed right after Falcon applied the containment: the retry on a new worker reports changed: true', async () => {
    // A real worker process (dist/), killed like a crash; the test stack here is only a client.
    const clientStack = await startTestStack();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-intent-'));
    const policyFile = path.join(dir, 'policy.yaml');
    fs.writeFileSync(
      policyFile,
      [
        'version: 1',
        'rules:',
        '  - { id: contain-alone, tool: edr_isolate_host, effect: allow }',
        'tiers:',
        '  "1": { required: 1, stages: [{ groups: [ops], timeout: 1h }] }',
        '  "2": { required: 2, stages: [{ groups: [ops], timeout: 1h }] }',
        'groups: { ops: [alice, bob] }',
      ].join('\n'),
    );
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      TEMPORAL_ADDRESS: clientStack.config.temporal.address!,
      WARDEN_TASK_QUEUE: `intent-${randomUUID()}`,
      WARDEN_DATA_DIR: dir,
      WARDEN_POLICY_FILE: policyFile,
      WARDEN_CROWDSTRIKE_BASE_URL: falcon.url,
      WARDEN_SECRET_CROWDSTRIKE_API_TOKEN: `${falcon.clientId}:${falcon.clientSecret}`,
      WARDEN_HEALTH_PORT: '0',
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
      WARDEN_LOG_LEVEL: 'warn',
      WARDEN_SHUTDOWN_GRACE_MS: '1000',
    };
    const workers: ChildProcess[] = [];
    let output = '';
    const startWorker = () => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'warden.js'), 'worker'], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      workers.push(child);
      return child;
    };
    try {
      const host = falcon.addDevice('web-crash-1');
      const first = startWorker();
      // The crash: the worker dies the moment Falcon has applied the containment, before any answer reaches it.
      falcon.onApplied = (id) => {
        if (id === host) first.kill('SIGKILL');
      };
      falcon.loseNextActionAnswers(1);
      const handle = await clientStack.client.temporal.workflow.start('runPlaybook', {
        taskQueue: env.WARDEN_TASK_QUEUE,
        workflowId: `intent-${randomUUID()}`,
        args: [
          {
            playbook: containPlaybook([{ id: 'contain', tool: 'edr_isolate_host', args: { hostname: 'web-crash-1' } }]),
            input: {},
            initiator: 'olivia',
          },
        ],
      });
      await waitFor(
        () => Promise.resolve(first.exitCode !== null || first.signalCode !== null),
        (dead) => dead,
        60_000,
      );
      falcon.onApplied = undefined;
      if (falcon.devices.get(host)?.status !== 'contained')
        throw new Error(`the worker died before Falcon applied the containment:\n${output}`);
      startWorker();
      // The retry comes after the activity's heartbeat timeout (10 s).
      const result = (await handle.result()) as RunResult;
      expect(result.status).toBe('completed');
      expect(result.outputs.contain).toMatchObject({ deviceId: host, changed: true, appliedByEarlierAttempt: true });
      expect(falcon.actionsFor(host)).toEqual([{ deviceId: host, action: 'contain', outcome: 'applied' }]);
    } finally {
      falcon.onApplied = undefined;
      for (const w of workers) {
        if (w.exitCode !== null || w.signalCode !== null) continue;
        const exited = new Promise((r) => w.once('exit', r));
        w.kill('SIGTERM');
        await exited;
      }
      await clientStack.stop();
    }
  });
});
