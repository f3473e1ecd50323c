// What the benchmarks share: a real Temporal dev server, a zero-latency scripted OpenAI-compatible model,
// Warden's configuration for both, the plain-triage baseline worker, latency percentiles and the output
// (plain lines, or with `--json` one JSON document on stdout). Not a benchmark itself (no .bench.js).
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { clearTimeout } = require('node:timers');

const dist = path.join(__dirname, '..', 'dist');
if (!fs.existsSync(dist)) {
  console.error('bench: dist/ is missing: run `npm run build` first (or `npm run bench`, which builds).');
  process.exit(1);
}
const { loadConfig } = require(path.join(dist, 'config'));
const { startDevServer } = require(path.join(dist, 'runtime', 'dev-server'));
const { resolveTemporalCli } = require(path.join(dist, 'runtime', 'temporal-binaries'));
const { createLogger } = require(path.join(dist, 'telemetry', 'logger'));

/** True when the benchmark was started with `--json`: then only one JSON document goes to stdout. */
const JSON_OUT = process.argv.includes('--json');
const triageDir = path.join(dist, 'usecases', 'alert-triage');

/**
 * A verdict the triage playbook's deterministic assessment agrees with for the bench alert (a high-severity
 * EDR detection): no human review, no containment, so governed and plain runs take the same graph to the case.
 */
const TRIAGE_VERDICT = JSON.stringify({
  verdict: 'malicious',
  confidence: 0.95,
  rationale: 'credential dumping tool executed on the host',
  recommendedActions: [],
});

/** The machine a figure was measured on: a ratio means little without the load beside it. */
function machine() {
  return { node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Number(x.toFixed(2))) };
}

/** A line for a human reader; nothing with `--json` (stdout then carries one JSON document). */
function say(line) {
  if (!JSON_OUT) console.log(line);
}

/**
 * Runs a benchmark's `main(figures)`: `main` fills `figures` (numbers keyed by name) and prints its lines
 * with {@link say}; with `--json` the document `{ bench, node, cpus, loadavg, figures }` is printed at the end.
 * Exits 1 on any error.
 */
function runBench(name, main) {
  const header = machine();
  say(`${name} bench: node ${header.node}, ${header.cpus} CPUs, load ${header.loadavg.join(' ')}`);
  const figures = {};
  main(figures)
    .then(() => {
      if (JSON_OUT) console.log(JSON.stringify({ bench: name, ...header, loadavgAfter: machine().loadavg, figures }));
      // Clients and servers of a finished benchmark may keep sockets open for a while; the figures are out.
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** p50 and p95 of millisecond latencies, rounded to 0.1 ms. */
function latency(ms) {
  const r = (x) => Math.round(x * 10) / 10;
  return { p50: r(percentile(ms, 50)), p95: r(percentile(ms, 95)) };
}

/**
 * Runs `one(i)` for i in [0, n), at most `concurrency` at a time; returns runs/s over the whole batch and
 * each run's latency in ms (from its start to its end, so queueing behind the cap is not counted).
 */
async function timeRuns(n, concurrency, one) {
  const ms = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  const caller = async () => {
    while (next < n) {
      const i = next++;
      const s = process.hrtime.bigint();
      await one(i);
      ms.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, caller));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { n, seconds, perSec: n / seconds, ...latency(ms) };
}

/** A Temporal dev server on free ports (stop it with `await server.stop()`). */
function startTemporal() {
  return startDevServer({
    cliPath: resolveTemporalCli(process.env.TEMPORAL_CLI_PATH),
    port: 0,
    uiPort: 0,
    headless: true,
    startTimeoutMs: 120_000,
  });
}

/**
 * An OpenAI-compatible chat completions server that answers every request at once with `content` (a
 * zero-latency model: what is left is Warden's cost, not the model's). Resolves with the server and its
 * `baseURL` (…/v1).
 */
function zeroLatencyModel(content = TRIAGE_VERDICT) {
  const body = JSON.stringify({
    id: 'x',
    object: 'chat.completion',
    created: 0,
    model: 'bench',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
  });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, baseURL: `http://127.0.0.1:${server.address().port}/v1`, close: () => server.close() }),
    ),
  );
}

/**
 * Warden's configuration environment for a bench: this dev server, a fresh data dir, the scripted model, and
 * any worker tuning set in the environment (`WARDEN_WORKER_*`, e.g. WARDEN_WORKER_WORKFLOW_THREADS=2).
 */
function benchEnv({ server, dir, baseURL, taskQueue, extra = {} }) {
  const tuning = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('WARDEN_WORKER_')));
  return {
    ...tuning,
    TEMPORAL_ADDRESS: server.address,
    WARDEN_DATA_DIR: dir,
    WARDEN_TASK_QUEUE: taskQueue,
    OPENAI_BASE_URL: baseURL,
    OPENAI_API_KEY: 'bench',
    WARDEN_LLM_MODEL: 'bench',
    WARDEN_LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** {@link benchEnv} parsed by Warden's own configuration loader. */
function benchConfig(opts) {
  return loadConfig(benchEnv(opts));
}

/** Warden's pino logger at `warn`, on stderr: stdout carries the figures (and the JSON document). */
function benchLogger() {
  return createLogger({ level: 'warn', stream: process.stderr });
}

/** A temporary directory, removed by `cleanup()`. */
function tempDir(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `warden-bench-${name}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** The context a tool's `execute` gets, with nothing behind it (plain baselines call tools directly). */
function toolContext(logger, extra = {}) {
  return {
    idempotencyKey: 'bench',
    signal: new AbortController().signal,
    logger,
    heartbeat: () => undefined,
    credential: () => Promise.reject(new Error('none')),
    ...extra,
  };
}

/**
 * A plain Temporal worker (no governance) on `taskQueue` running the workflows of `bench/workflows/<name>.js`
 * with `activities`. Resolves with `{ worker, running }`; stop it with `worker.shutdown(); await running`.
 */
async function startPlainWorker({ connection, taskQueue, workflows, activities }) {
  const { Worker, bundleWorkflowCode } = require('@temporalio/worker');
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: require.resolve(`./workflows/${workflows}`),
      logger: quietLogger,
    }),
    activities,
    // The same workflow threads as the governed worker when a bench sets them (a fair baseline).
    ...(process.env.WARDEN_WORKER_WORKFLOW_THREADS
      ? { workflowThreadPoolSize: Number(process.env.WARDEN_WORKER_WORKFLOW_THREADS) }
      : {}),
  });
  return { worker, running: worker.run() };
}

/** The bench alert (the demo CrowdStrike detection), raw as the vendor sends it, with its own detection id. */
function rawAlert(id) {
  const body = JSON.parse(
    fs.readFileSync(path.join(triageDir, 'demo-data', 'alerts', 'crowdstrike-detection.json'), 'utf8'),
  );
  return { ...body, event: { ...body.event, DetectId: `ldt:bench:${Date.now()}:${id}` } };
}

/**
 * The activities of `bench/workflows/plain-triage.js`: the triage playbook's tools called directly, and the
 * model through the real openai client.
 */
function plainTriageActivities({ config, dir, baseURL, logger }) {
  const OpenAI = require('openai');
  const { triageSettings } = require(path.join(triageDir, 'settings'));
  const { createAssetLookupTool } = require(path.join(triageDir, 'tools', 'asset-lookup'));
  const { createIntelLookupTool } = require(path.join(triageDir, 'tools', 'intel-lookup'));
  const { createCaseTool } = require(path.join(triageDir, 'tools', 'case'));
  const { createAssessTool } = require(path.join(triageDir, 'tools', 'assess'));
  const settings = triageSettings(config.usecases.settings['alert-triage'] ?? {}, config.http_request.timeoutMs);
  const assetTool = createAssetLookupTool(settings.assets);
  const intelTool = createIntelLookupTool(settings.intel);
  const caseTool = createCaseTool(path.join(dir, 'plain-cases'));
  const assessTool = createAssessTool();
  const openai = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 });
  const ctx = toolContext(logger);
  return {
    plainAssetLookup: (a) => assetTool.execute(a, ctx),
    plainIntelLookup: (a) => intelTool.execute(a, ctx),
    plainScore: async (a) => {
      const r = await openai.chat.completions.create({
        model: 'bench',
        messages: [{ role: 'user', content: JSON.stringify(a).slice(0, 20000) }],
      });
      return JSON.parse(r.choices[0].message.content);
    },
    plainAssess: (a) => assessTool.execute({ ...a, confidenceThreshold: 0.7 }, ctx),
    plainWriteCase: (a) =>
      caseTool.execute(
        {
          title: 'plain',
          alert: a.alert,
          enrichment: { assets: a.assets, intel: a.intel },
          verdict: a.verdict,
          run: { workflowId: a.id, initiator: 'bench', decisions: [], steps: [], agentTurns: [] },
        },
        { ...ctx, workflowId: a.id },
      ),
  };
}

/** The input of one plain-triage run for a normalized alert. */
function plainTriageInput(id, alert) {
  return {
    id,
    alert,
    hosts: alert.assets.hosts.map((h) => h.hostname),
    // As the playbook's `intel` items: every indicator kind it looks up, in its order, at most 40.
    indicators: [
      ...alert.indicators.ips.map((x) => ({ indicator: x, type: 'ip' })),
      ...alert.indicators.domains.map((x) => ({ indicator: x, type: 'domain' })),
      ...alert.indicators.urls.map((x) => ({ indicator: x, type: 'url' })),
      ...alert.indicators.hashes.sha256.map((x) => ({ indicator: x, type: 'sha256' })),
      ...alert.indicators.hashes.md5.map((x) => ({ indicator: x, type: 'md5' })),
    ].slice(0, 40),
  };
}

/**
 * The plain side's activity for playbooks of asset lookups: the triage demo inventory's asset_lookup tool
 * (the read the governed side's action steps run), called directly.
 */
function assetLookupActivity({ config, logger }) {
  const { triageSettings } = require(path.join(triageDir, 'settings'));
  const { createAssetLookupTool } = require(path.join(triageDir, 'tools', 'asset-lookup'));
  const settings = triageSettings(config.usecases.settings['alert-triage'] ?? {}, config.http_request.timeoutMs);
  const tool = createAssetLookupTool(settings.assets);
  const ctx = toolContext(logger);
  return { plainAssetLookup: (a) => tool.execute(a, ctx) };
}

/**
 * What most benchmarks stand on: a Temporal dev server, the zero-latency model, Warden's governed worker (the
 * real one: policy, audit ledger on SQLite, tracing, summaries, the build's workflow bundle) on task queue
 * `bench-governed`, a WardenClient that starts runs as the HTTP server does (it vouches, with the fleet key,
 * for the webhook initiator it verified), and a plain worker (no governance) on `bench-plain` running
 * `bench/workflows/<plainWorkflows>.js` with `plainActivities({ config, dir, baseURL, logger })`.
 * `stopWorkers()` stops both workers (once); `close()` stops everything and removes the data dir.
 */
async function startStack({ name, plainWorkflows, plainActivities }) {
  const { Client, Connection } = require('@temporalio/client');
  const { createWardenWorker } = require(path.join(dist, 'worker'));
  const { WardenClient } = require(path.join(dist, 'client'));
  const { dir, cleanup } = tempDir(name);
  const server = await startTemporal();
  const model = await zeroLatencyModel();
  const logger = benchLogger();
  const config = benchConfig({ server, dir, baseURL: model.baseURL, taskQueue: 'bench-governed' });
  const closers = [cleanup, () => server.stop(), () => model.close()];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const ww = await createWardenWorker({ config, logger });
    const governedRun = ww.run();
    const client = await WardenClient.connect(config, { attestAs: 'http' });
    const plain = await startPlainWorker({
      connection: ww.connection,
      taskQueue: 'bench-plain',
      workflows: plainWorkflows,
      activities: plainActivities({ config, dir, baseURL: model.baseURL, logger }),
    });
    const temporal = new Client({ connection: await Connection.connect({ address: server.address }) });
    let stopped;
    const stopWorkers = () => {
      stopped ??= (async () => {
        ww.shutdown();
        plain.worker.shutdown();
        await Promise.all([governedRun, plain.running]);
        await ww.close();
      })();
      return stopped;
    };
    closers.push(
      stopWorkers,
      () => client.close(),
      () => temporal.connection.close(),
    );
    /**
     * Starts `playbook` as a webhook would (initiator `webhook:<source>`) and waits for a completed run; after
     * `timeoutMs` the run is terminated and the wait fails (a run whose workflow task keeps failing would
     * otherwise hang the benchmark).
     */
    const runGoverned = async (id, playbook, input, { source = 'bench', timeoutMs = 30 * 60_000 } = {}) => {
      const { workflowId } = await client.start(
        'runPlaybook',
        { playbook, input, initiator: `webhook:${source}`, trigger: { type: 'webhook', ref: `${source}/${id}` } },
        { workflowId: `bench-${id}` },
      );
      let timer;
      const timedOut = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      const r = await Promise.race([client.result(workflowId), timedOut]).finally(() => clearTimeout(timer));
      if (r === undefined) {
        await temporal.workflow.getHandle(workflowId).terminate('bench timeout');
        throw new Error(`run ${workflowId} did not end within ${timeoutMs / 1000} s (terminated)`);
      }
      if (r.status !== 'completed') throw new Error(`run ${workflowId} ended ${r.status}`);
      return r;
    };
    /** Runs the plain workflow `type` with `input` to its result. */
    const runPlain = (id, type, input) =>
      temporal.workflow.execute(type, { taskQueue: 'bench-plain', workflowId: `bench-plain-${id}`, args: [input] });
    return { config, dir, logger, model, server, client, temporal, runGoverned, runPlain, stopWorkers, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * What one run cost Temporal, from its history: events, workflow tasks, activities and local activities
 * (by type), the server's work and the worker's activations scale with these.
 */
async function historyShape(temporal, workflowId) {
  const { events = [] } = await temporal.workflow.getHandle(workflowId).fetchHistory();
  const name = (e) => e.eventType; // a number: the proto enum
  const { temporal: proto } = require('@temporalio/proto');
  const T = proto.api.enums.v1.EventType;
  const localActivities = {};
  for (const e of events) {
    const m = e.markerRecordedEventAttributes;
    const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0]?.data : undefined;
    if (!data) continue;
    const type = JSON.parse(Buffer.from(data).toString('utf8')).activity_type;
    localActivities[type] = (localActivities[type] ?? 0) + 1;
  }
  const activities = {};
  for (const e of events) {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) activities[type] = (activities[type] ?? 0) + 1;
  }
  return {
    events: events.length,
    workflowTasks: events.filter((e) => name(e) === T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length,
    activities,
    localActivities,
  };
}

/** A line `label  n runs in s = x runs/s, p50, p95` for a {@link timeRuns} result. */
function runsLine(label, m, width = 44) {
  say(
    `${label.padEnd(width)} ${m.n} runs in ${m.seconds.toFixed(2)} s = ${m.perSec.toFixed(2)} runs/s, p50 ${m.p50} ms, p95 ${m.p95} ms`,
  );
}

/** Governed and plain runs/s and latency (from {@link timeRuns}) as figures, with their ratio. */
function runFigures(g, p) {
  return {
    governedRunsPerSec: round(g.perSec),
    governedP50Ms: g.p50,
    governedP95Ms: g.p95,
    plainRunsPerSec: round(p.perSec),
    plainP50Ms: p.p50,
    plainP95Ms: p.p95,
    ratio: round(g.perSec / p.perSec, 3),
  };
}

/** A number rounded to `digits` decimals (figures in the JSON stay readable). */
function round(x, digits = 2) {
  return Number(x.toFixed(digits));
}

module.exports = {
  historyShape,
  JSON_OUT,
  TRIAGE_VERDICT,
  assetLookupActivity,
  benchConfig,
  benchEnv,
  benchLogger,
  dist,
  latency,
  machine,
  percentile,
  plainTriageActivities,
  plainTriageInput,
  rawAlert,
  round,
  runBench,
  runFigures,
  runsLine,
  say,
  startPlainWorker,
  startStack,
  startTemporal,
  tempDir,
  timeRuns,
  toolContext,
  triageDir,
  zeroLatencyModel,
};
