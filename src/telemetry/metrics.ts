import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/*
 * Prometheus metrics (prom-client): what an operator watches at 3 a.m. without reading logs. One registry
 * per process, served at `/metrics` by the worker's health server and by the HTTP server.
 *
 * - Process-local, counted where things happen: audit appends (and everything the ledger records: runs
 *   ended by status, policy decisions by effect, approvals, budget hits), tool calls by integration, LLM
 *   calls, latency and tokens, webhook deliveries.
 * - Fleet-wide, gathered from Temporal when scraped (cached): runs by status, approvals waiting and the
 *   oldest wait per tier, the kill switch and breaker states — see {@link FleetSource}.
 * - The Temporal SDK's own runtime metrics (pollers, task slots, schedule-to-start latency, sticky cache),
 *   exported by the SDK core on a loopback port and appended to the same page.
 */

/** What a fleet-wide scrape reads from Temporal (the HTTP server and `warden dev` provide it). */
export interface FleetSource {
  /** Runs by execution status (Running, Completed, Failed, …), as visibility counts them. */
  runsByStatus(): Promise<Record<string, number>>;
  /** Pending approvals: their tier and when they were requested. */
  pendingApprovals(): Promise<Array<{ tier: number; requestedAt: string }>>;
  /** The governor's kill switch and breakers. */
  governor(): Promise<{ killSwitch: boolean; breakers: Record<string, string> }>;
  /** Tasks waiting for a worker, by task queue and type (workflow, activity). */
  taskQueueBacklog?(): Promise<Record<string, Record<string, number>>>;
}

/** How long one fleet-wide read may take before the scrape reports it as an error. */
const FLEET_READ_TIMEOUT_MS = 5_000;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Failure types that say a budget stopped an agent. */
const BUDGET_TYPES = new Set(['BudgetExceeded']);

function errorTypeOf(data: unknown): string | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const d = data as { errorType?: unknown; failureType?: unknown; error?: { type?: unknown } };
  const t = d.errorType ?? d.failureType ?? d.error?.type;
  return typeof t === 'string' ? t : undefined;
}

/** A label value from untrusted or open-ended text: bounded length and character set. */
function label(value: unknown): string {
  const s = typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);
  return s.replace(/[^\w:./-]/g, '_').slice(0, 64) || 'none';
}

/** Warden's metrics for one process. */
export class WardenMetrics {
  readonly registry = new Registry();
  private readonly auditRecords: Counter<'type'>;
  private readonly auditAppendSeconds: Histogram;
  private readonly auditLagSeconds: Histogram;
  private readonly runsEnded: Counter<'status' | 'failure_type'>;
  private readonly decisions: Counter<'tool' | 'effect'>;
  private readonly approvals: Counter<'event'>;
  private readonly budgetHits: Counter;
  private readonly toolCalls: Counter<'tool' | 'integration' | 'outcome'>;
  private readonly toolSeconds: Histogram<'integration'>;
  private readonly llmCalls: Counter<'model' | 'outcome'>;
  private readonly llmSeconds: Histogram<'model'>;
  private readonly llmTokens: Counter<'model' | 'kind'>;
  private readonly webhooks: Counter<'source' | 'outcome'>;
  private fleet: FleetSource | undefined;
  private fleetCache: { at: number; value: Promise<FleetSnapshot> } | undefined;
  /** Where the SDK core serves its own Prometheus metrics (loopback), when it does. */
  sdkMetricsUrl: string | undefined;

  constructor(opts: { defaultMetrics?: boolean; fleetCacheMs?: number } = {}) {
    const r = this.registry;
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: r, prefix: 'warden_' });
    this.fleetCacheMs = opts.fleetCacheMs ?? 15_000;
    this.auditRecords = new Counter({
      name: 'warden_audit_records_total',
      help: 'Audit ledger records appended by this process, by type',
      labelNames: ['type'],
      registers: [r],
    });
    this.auditAppendSeconds = new Histogram({
      name: 'warden_audit_append_seconds',
      help: 'Time to append one batch of audit records durably',
      buckets: LATENCY_BUCKETS,
      registers: [r],
    });
    this.auditLagSeconds = new Histogram({
      name: 'warden_audit_lag_seconds',
      help: 'Time from an event to its audit record being durable',
      buckets: LATENCY_BUCKETS,
      registers: [r],
    });
    this.runsEnded = new Counter({
      name: 'warden_runs_ended_total',
      help: 'Runs (and forEach batches) that ended, by status and the failing step type',
      labelNames: ['status', 'failure_type'],
      registers: [r],
    });
    this.decisions = new Counter({
      name: 'warden_policy_decisions_total',
      help: 'Policy decisions by tool and effect (allow, require_approval, deny)',
      labelNames: ['tool', 'effect'],
      registers: [r],
    });
    this.approvals = new Counter({
      name: 'warden_approval_events_total',
      help: 'Approval events: requested, granted, refused, escalated, timed_out',
      labelNames: ['event'],
      registers: [r],
    });
    this.budgetHits = new Counter({
      name: 'warden_agent_budget_exceeded_total',
      help: 'Agent steps stopped by a budget (turns, tokens, tool calls, wall time)',
      registers: [r],
    });
    this.toolCalls = new Counter({
      name: 'warden_tool_calls_total',
      help: 'Tool activity attempts by tool, integration and outcome (ok or the failure type)',
      labelNames: ['tool', 'integration', 'outcome'],
      registers: [r],
    });
    this.toolSeconds = new Histogram({
      name: 'warden_tool_call_seconds',
      help: 'Tool call duration by integration',
      labelNames: ['integration'],
      buckets: LATENCY_BUCKETS,
      registers: [r],
    });
    this.llmCalls = new Counter({
      name: 'warden_llm_calls_total',
      help: 'LLM calls by model and outcome (ok or the failure type)',
      labelNames: ['model', 'outcome'],
      registers: [r],
    });
    this.llmSeconds = new Histogram({
      name: 'warden_llm_call_seconds',
      help: 'LLM call latency by model',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers: [r],
    });
    this.llmTokens = new Counter({
      name: 'warden_llm_tokens_total',
      help: 'LLM tokens by model and kind (prompt, completion)',
      labelNames: ['model', 'kind'],
      registers: [r],
    });
    this.webhooks = new Counter({
      name: 'warden_webhook_deliveries_total',
      help: 'Webhook deliveries by source and outcome (accepted, duplicate, refused_<status>)',
      labelNames: ['source', 'outcome'],
      registers: [r],
    });
    const fleetGauge = (name: string, help: string, labelNames: string[], read: (s: FleetSnapshot, g: Gauge) => void) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [r],
        collect: async function (this: Gauge) {
          const snapshot = await metrics.fleetSnapshot();
          this.reset();
          if (snapshot) read(snapshot, this);
        },
      });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    fleetGauge('warden_runs', 'Runs by execution status (Temporal visibility)', ['status'], (s, g) => {
      for (const [status, n] of Object.entries(s.runs)) g.set({ status }, n);
    });
    fleetGauge('warden_approvals_waiting', 'Approvals waiting for a human, by tier', ['tier'], (s, g) => {
      for (const [tier, a] of Object.entries(s.approvals)) g.set({ tier }, a.count);
    });
    fleetGauge(
      'warden_approval_oldest_wait_seconds',
      'How long the oldest waiting approval of each tier has waited',
      ['tier'],
      (s, g) => {
        for (const [tier, a] of Object.entries(s.approvals)) g.set({ tier }, a.oldestSeconds);
      },
    );
    fleetGauge(
      'warden_task_queue_backlog',
      'Tasks waiting for a worker, by task queue and type (scale workers on this)',
      ['task_queue', 'type'],
      (s, g) => {
        for (const [task_queue, kinds] of Object.entries(s.backlog))
          for (const [type, n] of Object.entries(kinds)) g.set({ task_queue, type }, n);
      },
    );
    fleetGauge('warden_kill_switch_engaged', '1 while the kill switch holds every write', [], (s, g) => {
      if (s.killSwitch !== undefined) g.set(s.killSwitch ? 1 : 0);
    });
    fleetGauge(
      'warden_breaker_open',
      '1 for each integration whose circuit breaker is open or half-open',
      ['integration', 'state'],
      (s, g) => {
        for (const [integration, state] of Object.entries(s.breakers))
          g.set({ integration, state }, state === 'closed' ? 0 : 1);
      },
    );
    fleetGauge(
      'warden_fleet_scrape_errors',
      '1 when the last fleet-wide scrape could not read Temporal',
      [],
      (s, g) => {
        g.set(s.error ? 1 : 0);
      },
    );
  }

  private readonly fleetCacheMs: number;

  /** Where fleet-wide gauges come from, if this process reports them. */
  get fleetSource(): FleetSource | undefined {
    return this.fleet;
  }

  /** Makes this process report fleet-wide gauges (the HTTP server and `warden dev` do). */
  setFleetSource(source: FleetSource | undefined): void {
    this.fleet = source;
    this.fleetCache = undefined;
  }

  /** Records appended to the audit ledger (after they are durable). */
  observeAudit(records: ReadonlyArray<{ type: string; ts?: string; data?: unknown }>, appendSeconds: number): void {
    this.auditAppendSeconds.observe(appendSeconds);
    const now = Date.now();
    for (const rec of records) {
      const type = label(rec.type);
      this.auditRecords.inc({ type });
      if (rec.ts) {
        const at = Date.parse(rec.ts);
        if (Number.isFinite(at)) this.auditLagSeconds.observe(Math.max(0, (now - at) / 1000));
      }
      const data = (rec.data ?? {}) as Record<string, unknown>;
      const failure = errorTypeOf(data);
      if (failure && BUDGET_TYPES.has(failure)) this.budgetHits.inc();
      if (type.startsWith('run.')) this.runsEnded.inc({ status: type.slice(4), failure_type: label(failure) });
      else if (type === 'policy.decision') this.decisions.inc({ tool: label(data.tool), effect: label(data.effect) });
      else if (type.startsWith('approval.')) this.approvals.inc({ event: type.slice(9) });
    }
  }

  /** One tool activity attempt. */
  observeToolCall(tool: string, integration: string, outcome: string, seconds: number): void {
    this.toolCalls.inc({ tool: label(tool), integration: label(integration), outcome: label(outcome) });
    this.toolSeconds.observe({ integration: label(integration) }, seconds);
  }

  /** One LLM call. */
  observeLlmCall(
    model: string,
    outcome: string,
    seconds: number,
    tokens?: { prompt: number; completion: number },
  ): void {
    const m = label(model);
    this.llmCalls.inc({ model: m, outcome: label(outcome) });
    this.llmSeconds.observe({ model: m }, seconds);
    if (tokens) {
      this.llmTokens.inc({ model: m, kind: 'prompt' }, tokens.prompt);
      this.llmTokens.inc({ model: m, kind: 'completion' }, tokens.completion);
    }
  }

  /** One webhook delivery; unknown sources are counted under one label (names are the sender's to choose). */
  observeWebhook(source: string | undefined, outcome: string): void {
    this.webhooks.inc({ source: label(source ?? '(unknown)'), outcome: label(outcome) });
  }

  /** The fleet-wide snapshot, read at most once per cache period; undefined without a fleet source. */
  fleetSnapshot(): Promise<FleetSnapshot | undefined> {
    const source = this.fleet;
    if (!source) return Promise.resolve(undefined);
    const now = Date.now();
    if (!this.fleetCache || now - this.fleetCache.at > this.fleetCacheMs)
      this.fleetCache = { at: now, value: readFleet(source) };
    return this.fleetCache.value;
  }

  /** The whole page: Warden's metrics, then the SDK core's (when it exports them). */
  async render(): Promise<string> {
    const own = await this.registry.metrics();
    if (!this.sdkMetricsUrl) return own;
    try {
      const res = await fetch(this.sdkMetricsUrl, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) return own;
      return `${own}\n${await res.text()}`;
    } catch {
      return own;
    }
  }

  /** The content type Prometheus expects. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/** What the fleet-wide gauges show. */
export interface FleetSnapshot {
  runs: Record<string, number>;
  approvals: Record<string, { count: number; oldestSeconds: number }>;
  killSwitch?: boolean;
  breakers: Record<string, string>;
  backlog: Record<string, Record<string, number>>;
  error?: string;
}

async function readFleet(source: FleetSource): Promise<FleetSnapshot> {
  const snapshot: FleetSnapshot = { runs: {}, approvals: {}, breakers: {}, backlog: {} };
  const errors: string[] = [];
  // A scrape never waits long on Temporal: each read is bounded, and a slow one counts as a scrape error.
  const bounded = <T>(p: Promise<T>, what: string): Promise<T> =>
    Promise.race([
      p,
      new Promise<never>((_, reject) => {
        const t = setTimeout(
          () => reject(new Error(`${what} took over ${FLEET_READ_TIMEOUT_MS} ms`)),
          FLEET_READ_TIMEOUT_MS,
        );
        t.unref();
      }),
    ]);
  const [runs, pending, governor, backlog] = await Promise.allSettled([
    bounded(source.runsByStatus(), 'runs by status'),
    bounded(source.pendingApprovals(), 'pending approvals'),
    bounded(source.governor(), 'the governor'),
    bounded(source.taskQueueBacklog ? source.taskQueueBacklog() : Promise.resolve({}), 'task-queue backlog'),
  ]);
  if (backlog.status === 'fulfilled') snapshot.backlog = backlog.value;
  else errors.push(String(backlog.reason));
  if (runs.status === 'fulfilled') snapshot.runs = runs.value;
  else errors.push(String(runs.reason));
  if (pending.status === 'fulfilled') {
    const now = Date.now();
    for (const p of pending.value) {
      const tier = String(p.tier);
      const waited = Math.max(0, (now - Date.parse(p.requestedAt)) / 1000);
      const a = (snapshot.approvals[tier] ??= { count: 0, oldestSeconds: 0 });
      a.count++;
      if (Number.isFinite(waited)) a.oldestSeconds = Math.max(a.oldestSeconds, waited);
    }
  } else errors.push(String(pending.reason));
  if (governor.status === 'fulfilled') {
    snapshot.killSwitch = governor.value.killSwitch;
    snapshot.breakers = governor.value.breakers;
  } else errors.push(String(governor.reason));
  if (errors.length) snapshot.error = errors.join('; ');
  return snapshot;
}

let processMetrics: WardenMetrics | undefined;

/** This process's metrics (created on first use). */
export function wardenMetrics(): WardenMetrics {
  processMetrics ??= new WardenMetrics();
  return processMetrics;
}
