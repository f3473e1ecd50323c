// Triage runs per second, governed (runPlaybook + the triage playbook: policy, audit ledger, traces,
// summaries) against the same activity graph as a plain Temporal workflow, in the same run, on one real
// Temporal dev server, with a zero-latency scripted model. Prints runs/s for both and the ratio.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { Client, Connection } = require('@temporalio/client');
const { Worker, bundleWorkflowCode } = require('@temporalio/worker');
const OpenAI = require('openai');

const dist = path.join(__dirname, '..', 'dist');
const { loadConfig } = require(path.join(dist, 'config'));
const { startDevServer } = require(path.join(dist, 'runtime', 'dev-server'));
const { resolveTemporalCli } = require(path.join(dist, 'runtime', 'temporal-binaries'));
const { createLogger } = require(path.join(dist, 'telemetry', 'logger'));
const { createWardenWorker } = require(path.join(dist, 'worker'));
const { WardenClient } = require(path.join(dist, 'client'));
const triage = path.join(dist, 'usecases', 'alert-triage');
const { normalizeAlert } = require(path.join(triage, 'normalize'));
const { loadTriagePlaybook } = require(path.join(triage, 'webhook'));
const { triageSettings } = require(path.join(triage, 'settings'));
const { createAssetLookupTool } = require(path.join(triage, 'tools', 'asset-lookup'));
const { createIntelLookupTool } = require(path.join(triage, 'tools', 'intel-lookup'));
const { createCaseTool } = require(path.join(triage, 'tools', 'case'));
const { createAssessTool } = require(path.join(triage, 'tools', 'assess'));

const RUNS = Number(process.env.BENCH_TRIAGE_RUNS ?? 24);
// A verdict the playbook's deterministic assessment agrees with for the bench alert (a high-severity EDR
// detection): no human review, no containment, so both sides run the same graph to the case.
const VERDICT = JSON.stringify({
  verdict: 'malicious',
  confidence: 0.95,
  rationale: 'credential dumping tool executed on the host',
  recommendedActions: [],
});

function zeroLatencyModel() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          created: 0,
          model: 'bench',
          choices: [{ index: 0, message: { role: 'assistant', content: VERDICT }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function timeRuns(label, startOne) {
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: RUNS }, (_, i) => startOne(i)));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = RUNS / s;
  console.log(`${label.padEnd(34)} ${RUNS} runs in ${s.toFixed(2)} s = ${rate.toFixed(2)} runs/s`);
  return rate;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-triage-'));
  const server = await startDevServer({
    cliPath: resolveTemporalCli(process.env.TEMPORAL_CLI_PATH),
    port: 0,
    uiPort: 0,
    headless: true,
    startTimeoutMs: 120_000,
  });
  const model = await zeroLatencyModel();
  const baseURL = `http://127.0.0.1:${model.address().port}/v1`;
  const logger = createLogger({ level: 'warn' });
  const config = loadConfig({
    TEMPORAL_ADDRESS: server.address,
    WARDEN_DATA_DIR: dir,
    WARDEN_TASK_QUEUE: 'bench-governed',
    OPENAI_BASE_URL: baseURL,
    OPENAI_API_KEY: 'bench',
    WARDEN_LLM_MODEL: 'bench',
    WARDEN_LOG_LEVEL: 'warn',
  });
  const alertBody = JSON.parse(
    fs.readFileSync(path.join(triage, 'demo-data', 'alerts', 'crowdstrike-detection.json'), 'utf8'),
  );
  const playbook = loadTriagePlaybook();
  try {
    // Governed: the real worker (policy, audit ledger on SQLite, tracing interceptors, summaries).
    // The build's workflow bundle (npm run bench builds first), as a deployed worker loads it.
    const ww = await createWardenWorker({ config, logger });
    const governedRun = ww.run();
    // As the HTTP server starts webhook runs: it vouches (fleet key) for the webhook initiator it verified.
    const client = await WardenClient.connect(config, { attestAs: 'http' });
    // Plain: the same activities, no governance.
    const settings = triageSettings(config.usecases.settings['alert-triage'] ?? {}, config.http_request.timeoutMs);
    const assetTool = createAssetLookupTool(settings.assets);
    const intelTool = createIntelLookupTool(settings.intel);
    const caseTool = createCaseTool(path.join(dir, 'plain-cases'));
    const assessTool = createAssessTool();
    const openai = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 });
    const noCtx = {
      idempotencyKey: 'bench',
      signal: new AbortController().signal,
      logger,
      heartbeat: () => undefined,
      credential: () => Promise.reject(new Error('none')),
    };
    const plainWorker = await Worker.create({
      connection: ww.connection,
      taskQueue: 'bench-plain',
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: require.resolve('./workflows/plain-triage'),
        logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
      }),
      activities: {
        plainAssetLookup: (a) => assetTool.execute(a, noCtx),
        plainIntelLookup: (a) => intelTool.execute(a, noCtx),
        plainScore: async (a) => {
          const r = await openai.chat.completions.create({
            model: 'bench',
            messages: [{ role: 'user', content: JSON.stringify(a).slice(0, 20000) }],
          });
          return JSON.parse(r.choices[0].message.content);
        },
        plainAssess: (a) => assessTool.execute({ ...a, confidenceThreshold: 0.7 }, noCtx),
        plainWriteCase: (a) =>
          caseTool.execute(
            {
              title: 'plain',
              alert: a.alert,
              enrichment: { assets: a.assets, intel: a.intel },
              verdict: a.verdict,
              run: { workflowId: a.id, initiator: 'bench', decisions: [], steps: [], agentTurns: [] },
            },
            { ...noCtx, workflowId: a.id },
          ),
      },
    });
    const plainRun = plainWorker.run();
    const temporal = new Client({ connection: await Connection.connect({ address: server.address }) });

    const alertFor = (i) =>
      normalizeAlert('crowdstrike', {
        ...alertBody,
        event: { ...alertBody.event, DetectId: `ldt:bench:${Date.now()}:${i}` },
      });
    const warm = async (n) => {
      await timeRuns('(warm-up, not counted)', async (i) => {
        const alert = alertFor(`w${n}-${i}`);
        const { workflowId } = await client.start(
          'runPlaybook',
          {
            playbook,
            input: { alert, settings: { confidenceThreshold: 0.7 } },
            initiator: 'webhook:crowdstrike',
            trigger: { type: 'webhook', ref: `crowdstrike/${alert.alertId}` },
          },
          { workflowId: `bench-warm-${n}-${i}` },
        );
        await client.result(workflowId);
      });
    };
    await warm(1);
    const plain = await timeRuns('plain Temporal workflow (baseline)', async (i) => {
      const alert = alertFor(`p${i}`);
      await temporal.workflow.execute('plainTriage', {
        taskQueue: 'bench-plain',
        workflowId: `bench-plain-${i}`,
        args: [
          {
            id: `bench-plain-${i}`,
            alert,
            hosts: alert.assets.hosts.map((h) => h.hostname),
            indicators: [
              ...alert.indicators.ips.map((x) => ({ indicator: x, type: 'ip' })),
              ...alert.indicators.domains.map((x) => ({ indicator: x, type: 'domain' })),
              ...alert.indicators.hashes.sha256.map((x) => ({ indicator: x, type: 'sha256' })),
            ].slice(0, 40),
          },
        ],
      });
    });
    const governed = await timeRuns('governed triage (runPlaybook)', async (i) => {
      const alert = alertFor(`g${i}`);
      const { workflowId } = await client.start(
        'runPlaybook',
        {
          playbook,
          input: { alert, settings: { confidenceThreshold: 0.7 } },
          initiator: 'webhook:crowdstrike',
          trigger: { type: 'webhook', ref: `crowdstrike/${alert.alertId}` },
        },
        { workflowId: `bench-governed-${i}` },
      );
      const r = await client.result(workflowId);
      if (r.status !== 'completed') throw new Error(`run ${workflowId} ended ${r.status}`);
    });
    console.log(
      `governance overhead: governed/plain = ${(governed / plain).toFixed(2)}x the baseline's runs/s (${(plain / governed).toFixed(2)}x the time per run)`,
    );
    ww.shutdown();
    plainWorker.shutdown();
    await Promise.all([governedRun, plainRun]);
    await ww.close();
    await client.close();
    await temporal.connection.close();
  } finally {
    model.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
