import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Playbook } from '../../src/governance/steps';
import { createSecretStore } from '../../src/credentials';
import { freePort } from '../../src/runtime/dev-server';
import { createLogger } from '../../src/telemetry/logger';
import { eventStreamSecrets } from '../../src/triggers/event-routes';
import { createHttpServer } from '../../src/triggers/http-server';
import { signRequest } from '../../src/triggers/signed-request';
import type { CompiledThresholdRule, ThresholdEntityView } from '../../src/triggers/threshold-contract';
import { thresholdEntityId, thresholdRunId, thresholdStateQuery } from '../../src/triggers/threshold-contract';
import { EventIngestor } from '../../src/triggers/threshold-ingest';
import { compileThresholdRules } from '../../src/triggers/threshold-rule';
import { ROOT } from '../harness/cli';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';

const SECRET = 'events-auth-secret-for-tests';
const MIN = 60_000;

const lockPlaybook: Playbook = {
  name: 'lock-account',
  steps: [
    {
      id: 'ticket',
      kind: 'action',
      tool: 'ticket_create',
      args: { title: 'too many failed logins for {{ input.key }}', item: '{{ input.eventIds }}' },
      context: {},
      onError: 'fail',
    },
  ],
};

describe('threshold trigger over HTTP (real Temporal dev server)', () => {
  let stack: TestStack;
  let vendor: FakeVendor;
  let http: FastifyInstance;
  let base: string;
  let rule: CompiledThresholdRule;
  let ingestor: EventIngestor;

  beforeAll(async () => {
    vendor = await startFakeVendor();
    process.env.WARDEN_SECRET_EVENTS_AUTH = SECRET;
    stack = await startTestStack({}, { extraTools: vendorTools(vendor.url), policy: testPolicy() });
    [rule] = compileThresholdRules(
      [
        {
          id: 'failed-logins',
          stream: 'auth',
          match: "outcome == 'failure'",
          key: 'user',
          threshold: 3,
          window: '10m',
          cooldown: '30m',
          playbook: lockPlaybook,
          input: { key: '{{ key }}', eventIds: '{{ events[*].id }}', count: '{{ breach.count }}' },
        },
      ],
      () => lockPlaybook,
    ) as [CompiledThresholdRule];
    ingestor = new EventIngestor({ client: stack.client.temporal, taskQueue: stack.config.taskQueue, rules: [rule] });
    http = createHttpServer({
      client: stack.client,
      logger: createLogger({ level: 'silent' }),
      events: {
        secretFor: eventStreamSecrets(createSecretStore(stack.config).store, stack.config.webhooks.secretCacheMs),
        ingestor,
        maxBytes: 64 * 1024,
      },
    });
    const port = await freePort();
    await http.listen({ host: '127.0.0.1', port });
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    delete process.env.WARDEN_SECRET_EVENTS_AUTH;
    await http?.close();
    await stack?.stop();
    await vendor?.close();
  });

  const post = (body: string, opts: { stream?: string; secret?: string; ts?: number; headers?: boolean } = {}) => {
    const ts = opts.ts ?? Math.floor(Date.now() / 1000);
    return fetch(`${base}/v1/events/${opts.stream ?? 'auth'}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(opts.headers === false
          ? {}
          : { 'x-warden-timestamp': String(ts), 'x-warden-signature': signRequest(opts.secret ?? SECRET, ts, body) }),
      },
      body,
    });
  };
  const login = (id: string, user: string, minutesAgo: number, outcome = 'failure') => ({
    id,
    time: new Date(Date.now() - minutesAgo * MIN).toISOString(),
    user,
    outcome,
  });
  const entity = (user: string): WorkflowHandle =>
    stack.client.temporal.workflow.getHandle(thresholdEntityId(rule, user));
  const stateOf = (user: string, ok: (v: ThresholdEntityView) => boolean) =>
    waitFor(
      () =>
        entity(user)
          .query(thresholdStateQuery)
          .catch(() => undefined),
      (v): v is ThresholdEntityView => v !== undefined && ok(v),
    ) as Promise<ThresholdEntityView>;
  const tickets = (user: string) =>
    vendor.requests.filter((r) => r.path === '/tickets' && (r.body as { title: string }).title.endsWith(` ${user}`));

  it('fires one run per breach, with the breach events attached and threshold provenance', async () => {
    const res = await post(JSON.stringify([login('a1', 'alice', 3), login('a2', 'alice', 2), login('a3', 'alice', 1)]));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({
      accepted: 3,
      unmatched: 0,
      deliveries: [{ rule: 'failed-logins', key: 'alice', events: 3 }],
    });

    const state = await stateOf('alice', (v) => v.fires.length === 1);
    const fire = state.fires[0]!;
    expect(fire).toMatchObject({ status: 'started', count: 3, eventIds: ['a3', 'a2', 'a1'] });
    expect(fire.workflowId).toBe(thresholdRunId('failed-logins', 'alice', Date.parse(fire.breachStart)));
    const result = await stack.client.result<{ status: string }>(fire.workflowId);
    expect(result.status).toBe('completed');
    expect(tickets('alice').map((r) => (r.body as { item: unknown }).item)).toEqual([['a3', 'a2', 'a1']]);
    // Provenance Temporal recorded: the run is a child of the entity (no client can forge a parent).
    const run = await stack.client.temporal.workflow.getHandle(fire.workflowId).describe();
    expect(run.parentExecution?.workflowId).toBe(thresholdEntityId(rule, 'alice'));
    const started = (await stack.client.temporal.workflow.getHandle(fire.workflowId).fetchHistory()).events![0]!;
    expect(started.workflowExecutionStartedEventAttributes?.parentWorkflowExecution?.workflowId).toBe(
      thresholdEntityId(rule, 'alice'),
    );
  });

  it('never fires below the threshold, and counts only matching events', async () => {
    const res = await post(
      JSON.stringify([
        login('b1', 'bob', 4),
        login('b2', 'bob', 3),
        ...['b3', 'b4', 'b5', 'b6'].map((id, i) => login(id, 'bob', 2 - i / 10, 'success')),
      ]),
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 6, unmatched: 4 });
    const state = await stateOf('bob', (v) => v.stats.received === 2);
    expect(state).toMatchObject({ pending: 2, fires: [], stats: { counted: 2, fired: 0 } });
    expect(tickets('bob')).toHaveLength(0);
  });

  it('suppresses a second burst inside the cooldown, and fires again for a burst after it', async () => {
    const burst = (prefix: string, startMinutesAgo: number) =>
      [0, 1, 2].map((i) => login(`${prefix}${i}`, 'carol', startMinutesAgo - i));
    expect((await post(JSON.stringify(burst('c1-', 60)))).status).toBe(202);
    expect((await post(JSON.stringify(burst('c2-', 50)))).status).toBe(202); // within 30 min of the first
    expect((await post(JSON.stringify(burst('c3-', 20)))).status).toBe(202); // after the cooldown
    // A fire is recorded once its run has started, after the events are counted: wait for both.
    const state = await stateOf('carol', (v) => v.stats.received === 9 && v.fires.length >= 2);
    expect(state.fires.map((f) => f.eventIds)).toEqual([
      ['c1-2', 'c1-1', 'c1-0'],
      ['c3-2', 'c3-1', 'c3-0'],
    ]);
    expect(state.stats).toMatchObject({ suppressed: 3, fired: 2 });
    await waitFor(
      async () => tickets('carol').length,
      (n) => n === 2,
    );
  });

  it('counts a retried delivery (same event ids) once', async () => {
    const body = JSON.stringify([login('d1', 'dave', 3), login('d2', 'dave', 2)]);
    expect((await post(body)).status).toBe(202);
    // The sender retries: a new timestamp and signature, the same events.
    expect((await post(body, { ts: Math.floor(Date.now() / 1000) + 1 })).status).toBe(202);
    const afterRetry = await stateOf('dave', (v) => v.stats.received === 4);
    expect(afterRetry).toMatchObject({ fires: [], stats: { counted: 2, duplicates: 2 } });
    // Polled events go through the same path: the third distinct failure fires, exactly once.
    await ingestor.ingest('auth', [login('d3', 'dave', 1), login('d2', 'dave', 2)]);
    const fired = await stateOf('dave', (v) => v.stats.received === 6);
    expect(fired.fires).toHaveLength(1);
    expect(fired.stats).toMatchObject({ counted: 3, duplicates: 3, fired: 1 });
  });

  it('refuses bad signatures and malformed events with a clear 4xx, and records nothing', async () => {
    const good = JSON.stringify([login('m1', 'mallory', 1), login('m2', 'mallory', 1), login('m3', 'mallory', 1)]);
    const cases: [Promise<Response>, number, RegExp][] = [
      [post(good, { secret: 'wrong-secret' }), 401, /bad signature/],
      [post(good, { ts: Math.floor(Date.now() / 1000) - 3600 }), 401, /stale or future x-warden-timestamp/],
      [post(good, { headers: false }), 401, /missing x-warden-timestamp or x-warden-signature/],
      [post(good, { stream: 'unknown' }), 404, /warden secrets set events\.unknown/],
      [post('{"id": "m4", "user": "mallory",'), 400, /body is not valid JSON/],
      [
        post(JSON.stringify([login('m5', 'mallory', 1), { user: 'mallory' }])),
        400,
        /event #2: id: .*nothing was recorded/,
      ],
      [post(JSON.stringify({ ...login('m6', 'mallory', 1), time: 'yesterday' })), 400, /event: time: /],
      [post(JSON.stringify([login('m7', 'mallory', 1), login('m7', 'mallory', 1)])), 400, /appears twice/],
      [post(JSON.stringify({ ...login('m8', 'mallory', 1), blob: 'x'.repeat(20_000) })), 413, /at most 16384/],
      [post(JSON.stringify([])), 400, /no events/],
    ];
    for (const [res, status, message] of cases) {
      const r = await res;
      expect({ status: r.status, error: ((await r.json()) as { error: string }).error }).toEqual({
        status,
        error: expect.stringMatching(message),
      });
    }
    await expect(entity('mallory').describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('skips an event whose key expression gives nothing, and says why', async () => {
    const res = await post(JSON.stringify({ id: 'n1', outcome: 'failure' }));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({
      accepted: 1,
      deliveries: [],
      skipped: [
        { eventId: 'n1', rule: 'failed-logins', reason: expect.stringMatching(/key expression "user" gave null/) },
      ],
    });
  });

  it('accepts an event signed with the shell recipe in docs/triggers.md (openssl + curl)', async () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'triggers.md'), 'utf8');
    const recipe = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('openssl dgst'));
    expect(recipe).toBeDefined();
    // Asynchronously: the server answering curl runs in this very process.
    const { stdout: out } = await promisify(execFile)('bash', ['-c', recipe!.replace('http://127.0.0.1:8787', base)], {
      env: { PATH: process.env.PATH ?? '', SECRET },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(JSON.parse(out)).toMatchObject({
      accepted: 1,
      deliveries: [{ rule: 'failed-logins', key: 'alice', events: 1 }],
    });
  });
});
