import type { FastifyInstance } from 'fastify';
import type { Playbook } from '../../src/governance/steps';
import { freePort } from '../../src/runtime/dev-server';
import { createLogger } from '../../src/telemetry/logger';
import { WardenMetrics, wardenMetrics } from '../../src/telemetry/metrics';
import { createHttpServer } from '../../src/triggers/http-server';
import { signWebhook } from '../../src/triggers/webhooks';
import { startHealthServer } from '../../src/worker';
import { signerOf } from '../harness/identity';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { vendorTools } from '../harness/tools';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { waitFor } from '../harness/wait';

/*
 * /metrics as Prometheus scrapes it: the figures exist, and they move when runs move (a run waiting for
 * approval shows up as running with one approval waiting; once approved it is completed, and the
 * decisions, approvals, tool calls and audit appends were counted).
 */

/** The value of one sample in a Prometheus text page, or undefined when absent. */
function sample(page: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of page.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const contain: Playbook = {
  name: 'contain',
  steps: [
    { id: 'lookup', kind: 'action', tool: 'asset_lookup', args: { host: 'ws01' }, context: {}, onError: 'fail' },
    { id: 'review', kind: 'approval', tier: 1, title: 'contain ws01?', details: {}, onError: 'fail' },
  ],
};

describe('metrics', () => {
  jest.setTimeout(120_000);
  let stack: TestStack;
  let vendor: FakeVendor;
  let http: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    vendor = await startFakeVendor();
    stack = await startTestStack({}, { extraTools: vendorTools(vendor.url), policy: testPolicy() });
    http = createHttpServer({
      client: stack.client,
      logger: createLogger({ level: 'silent' }),
      fleetMetrics: { governorId: stack.config.governance.governorId },
      webhooks: {
        secretFor: (source) => Promise.resolve(source === 'demo' ? 'whsec-metrics' : undefined),
        deliver: () => Promise.resolve({ workflowId: 'w', duplicate: false }),
        maxBytes: 4096,
      },
    });
    const port = await freePort();
    await http.listen({ host: '127.0.0.1', port });
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    wardenMetrics().setFleetSource(undefined);
    await http.close();
    await stack.stop();
    await vendor.close();
  });

  /** The fleet gauges read now (the server's page caches them for 15 s): a fresh registry over the same source. */
  const fleetNow = () => {
    const m = new WardenMetrics({ defaultMetrics: false, fleetCacheMs: 0 });
    m.setFleetSource(wardenMetrics().fleetSource);
    return m.registry.metrics();
  };
  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    return res.text();
  };

  it('shows runs, approvals waiting, decisions, tool calls and audit appends moving as a run moves', async () => {
    const before = await scrape();
    const decisionsBefore =
      sample(before, 'warden_policy_decisions_total', { tool: 'asset_lookup', effect: 'allow' }) ?? 0;
    const completedBefore = sample(before, 'warden_runs', { status: 'Completed' }) ?? 0;
    const { workflowId } = await stack.client.start('runPlaybook', { playbook: contain, initiator: 'olivia' });
    await waitFor(
      () => stack.client.pendingApprovalsOf(workflowId),
      (l) => l.length === 1,
    );
    const waiting = await waitFor(
      fleetNow,
      (p) => (sample(p, 'warden_approvals_waiting', { tier: '1' }) ?? 0) >= 1,
      30_000,
    );
    expect(sample(waiting, 'warden_runs', { status: 'Running' })).toBeGreaterThanOrEqual(1);
    expect(sample(waiting, 'warden_approval_oldest_wait_seconds', { tier: '1' })).toBeGreaterThanOrEqual(0);
    expect(sample(waiting, 'warden_kill_switch_engaged')).toBe(0);
    expect(sample(waiting, 'warden_fleet_scrape_errors')).toBe(0);
    expect(
      sample(waiting, 'warden_task_queue_backlog', { task_queue: stack.config.taskQueue, type: 'activity' }),
    ).toBeGreaterThanOrEqual(0);

    await stack.client.decide(workflowId, 'review.0', 'approve', signerOf('alice'), 'ok');
    await stack.client.result(workflowId);
    const after = await waitFor(
      fleetNow,
      (p) => (sample(p, 'warden_runs', { status: 'Completed' }) ?? 0) > completedBefore,
      30_000,
    );
    expect(sample(after, 'warden_approvals_waiting', { tier: '1' }) ?? 0).toBe(0);
    // Process counters on the same page (the test's worker runs in this process).
    const page = await scrape();
    expect(sample(page, 'warden_policy_decisions_total', { tool: 'asset_lookup', effect: 'allow' })).toBeGreaterThan(
      decisionsBefore,
    );
    expect(sample(page, 'warden_approval_events_total', { event: 'granted' })).toBeGreaterThanOrEqual(1);
    expect(sample(page, 'warden_tool_calls_total', { tool: 'asset_lookup', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(page, 'warden_runs_ended_total', { status: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(sample(page, 'warden_audit_append_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(page, 'warden_audit_records_total', { type: 'run.started' })).toBeGreaterThanOrEqual(1);
  });

  it("serves the same page on a worker's health port", async () => {
    const port = await freePort();
    const server = await startHealthServer(stack.worker, '127.0.0.1', port);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(sample(page, 'warden_audit_records_total', { type: 'run.started' })).toBeGreaterThanOrEqual(1);
      expect(page).toMatch(/^warden_process_cpu_user_seconds_total /m);
      // The SDK core's runtime metrics, appended from its loopback exporter.
      expect(page).toMatch(/^temporal_workflow_task_schedule_to_start_latency_count\{/m);
    } finally {
      server.close();
    }
  });

  it('counts LLM calls with their tokens and failures, and bounds label text an outsider chooses', async () => {
    const m = new WardenMetrics({ defaultMetrics: false });
    m.observeLlmCall('triage-model', 'ok', 0.4, { prompt: 120, completion: 30 });
    m.observeLlmCall('triage-model', 'http_429', 0.01);
    m.observeWebhook('evil"} 1\nwarden_kill_switch_engaged 1', 'refused_401');
    m.observeAudit([{ type: 'run.failed', data: { failureType: 'BudgetExceeded' } }], 0.002);
    const page = await m.registry.metrics();
    expect(sample(page, 'warden_llm_tokens_total', { model: 'triage-model', kind: 'prompt' })).toBe(120);
    expect(sample(page, 'warden_llm_calls_total', { model: 'triage-model', outcome: 'http_429' })).toBe(1);
    expect(sample(page, 'warden_agent_budget_exceeded_total')).toBe(1);
    expect(sample(page, 'warden_runs_ended_total', { status: 'failed', failure_type: 'BudgetExceeded' })).toBe(1);
    // The injected source became one harmless label value: no forged sample line.
    expect(page).not.toMatch(/^warden_kill_switch_engaged 1/m);
    expect(page.split('\n').filter((l) => l.startsWith('warden_webhook_deliveries_total'))).toEqual([
      expect.stringMatching(
        /^warden_webhook_deliveries_total\{source="evil_+1_warden_kill_switch_engaged_1",outcome="refused_401"\} 1$/,
      ),
    ]);
  });

  it('counts webhook deliveries by outcome, unknown sources under one label', async () => {
    const body = '{}';
    const ts = Math.floor(Date.now() / 1000);
    const send = (source: string, sig: string) =>
      fetch(`${base}/v1/webhooks/${source}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-warden-timestamp': String(ts), 'x-warden-signature': sig },
        body,
      });
    await send('demo', signWebhook('wrong-secret', ts, body));
    await send('demo', signWebhook('whsec-metrics', ts, body));
    await send('nosuch-source-123', signWebhook('x', ts, body));
    const page = await scrape();
    expect(
      sample(page, 'warden_webhook_deliveries_total', { source: 'demo', outcome: 'refused_401' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(page, 'warden_webhook_deliveries_total', { source: 'demo', outcome: 'accepted' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(page, 'warden_webhook_deliveries_total', { source: '_unknown_', outcome: 'refused_404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(page).not.toMatch(/nosuch-source-123/);
  });
});
