// A burst of alerts through the `warden dev` stack on the default embedded local model (issue #13 item 1,
// "never drop an alert"): starts the embedded Temporal server, the local model server and a worker exactly
// as `warden dev` does, sends BENCH_BURST_ALERTS (50) alerts at once the way the webhook does (normalized
// vendor samples, one business key each), and reports cases written, failed runs, runs waiting for a
// human, and p50/p95 time from the alert to its case. Runs still waiting for a human after the agent
// step when the burst is done are cancelled (their `finally` step then writes the case too). CPU heavy:
// not a CI test. Usage: npm run build && node bench/alert-burst.js
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const { loadConfig } = require(path.join(dist, 'config'));
const { startDevStack } = require(path.join(dist, 'runtime', 'dev-stack'));
const { freePort } = require(path.join(dist, 'runtime', 'dev-server'));
const { createLogger } = require(path.join(dist, 'telemetry', 'logger'));
const triage = path.join(dist, 'usecases', 'alert-triage');
const { normalizeAlert } = require(path.join(triage, 'normalize'));
const { loadTriagePlaybook, alertWorkflowId } = require(path.join(triage, 'webhook'));
const { DEMO_ALERTS_DIR } = require(path.join(triage, 'demo'));

const ALERTS = Number(process.env.BENCH_BURST_ALERTS ?? 50);
const DEADLINE_MS = Number(process.env.BENCH_BURST_DEADLINE_MS ?? 90 * 60_000);
const SOURCES = {
  'crowdstrike-detection.json': 'crowdstrike',
  'guardduty-finding.json': 'guardduty',
  'suricata-eve.json': 'suricata',
};

const pct = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** What the model server logged: completions (and their time), and 429s it answered. */
function modelStats(file) {
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
  const ms = [];
  let busy = 0;
  for (const line of lines) {
    let r;
    try {
      r = JSON.parse(line);
    } catch {
      continue;
    }
    if (r.msg === 'chat completion' && typeof r.ms === 'number') ms.push(r.ms);
    if (r.res?.statusCode === 429) busy++;
  }
  ms.sort((a, b) => a - b);
  return { completions: ms.length, p50: secs(pct(ms, 50)), p95: secs(pct(ms, 95)), answered429: busy };
}

async function main() {
  if (process.env.OPENAI_API_KEY || process.env.OPENAI_BASE_URL)
    throw new Error('unset OPENAI_API_KEY and OPENAI_BASE_URL: this measures the default embedded local model');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-burst-'));
  // Into process.env too: the model server is its own process and reads its settings from there.
  Object.assign(process.env, {
    WARDEN_DATA_DIR: dataDir,
    WARDEN_KEYS_DIR: path.join(dataDir, 'keys'),
    WARDEN_DEMO: 'off',
    WARDEN_HTTP_PORT: String(await freePort()),
    WARDEN_TEMPORAL_PORT: String(await freePort()),
    WARDEN_UI_PORT: String(await freePort()),
    WARDEN_MODEL_PORT: '0',
  });
  // The model server logs each completion at info level (modelStats reads them); the rest stays quiet.
  const config = loadConfig({ ...process.env, WARDEN_LOG_LEVEL: 'warn' });
  const logger = createLogger({ level: 'warn', stream: fs.createWriteStream(path.join(dataDir, 'bench.log')) });
  const stack = await startDevStack(config, logger, (line) => console.log(`  ${line}`));
  try {
    if (!stack.agentsReady) throw new Error('the local model did not start (npm run setup:model installs it)');
    const playbook = loadTriagePlaybook();
    const samples = Object.entries(SOURCES).map(([file, source]) => ({
      source,
      body: JSON.parse(fs.readFileSync(path.join(DEMO_ALERTS_DIR, file), 'utf8')),
    }));
    const tag = Date.now().toString(36);
    const started = new Map();
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: ALERTS }, async (_, i) => {
        const s = samples[i % samples.length];
        const alert = normalizeAlert(s.source, s.body);
        alert.alertId = `${alert.alertId}-burst-${tag}-${i}`;
        const workflowId = alertWorkflowId(s.source, alert.alertId);
        await stack.client.start(
          'runPlaybook',
          {
            playbook,
            input: { alert, settings: { confidenceThreshold: 0.7 } },
            initiator: `webhook:${s.source}`,
            trigger: { type: 'webhook', ref: `${s.source}/${alert.alertId}` },
          },
          { workflowId, idempotent: true, summary: `burst alert ${i}` },
        );
        started.set(workflowId, Date.now());
      }),
    );
    console.log(`${ALERTS} alerts started in ${secs(Date.now() - t0)}; waiting for cases…`);

    const casePath = (id) => path.join(dataDir, 'cases', `${id.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
    const waitingForHuman = new Set();
    for (;;) {
      const pending = await stack.client.pendingApprovals(1000);
      waitingForHuman.clear();
      let open = 0;
      for (const id of started.keys()) {
        if (fs.existsSync(casePath(id))) continue;
        open++;
        if (pending.some((p) => p.workflowId === id || p.workflowId.startsWith(`${id}--`))) waitingForHuman.add(id);
      }
      process.stdout.write(
        `\r  ${ALERTS - open} cases, ${waitingForHuman.size} waiting for a human, ${secs(Date.now() - t0)}   `,
      );
      if (open === waitingForHuman.size || Date.now() - t0 > DEADLINE_MS) break;
      await new Promise((r) => setTimeout(r, 3000));
    }
    console.log();
    const reviewed = [...waitingForHuman];
    const cutOff = [...started.keys()].filter((id) => !waitingForHuman.has(id) && !fs.existsSync(casePath(id)));
    // Done measuring; what waits for a human (or, past the deadline, for the model) is ended the way an
    // operator would (Temporal cancel): its `finally` step writes the case all the same.
    for (const id of [...reviewed, ...cutOff])
      await stack.client.temporal.workflow
        .getHandle(id)
        .cancel()
        .catch(() => undefined);

    const results = [];
    for (const [id, at] of started) {
      let status;
      try {
        await stack.client.temporal.workflow.getHandle(id).result();
        status = 'completed';
      } catch (err) {
        status = /cancel/i.test(String(err?.cause?.name ?? err?.message)) ? 'cancelled' : 'failed';
      }
      const file = casePath(id);
      const c = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
      results.push({
        id,
        status,
        case: Boolean(c),
        toCaseMs: c ? fs.statSync(file).mtimeMs - at : undefined,
        verdict: c?.verdict?.verdict,
        scoreFailed: Boolean(c?.verdict?.failed),
        waitedForHuman: waitingForHuman.has(id),
        cutOff: cutOff.includes(id),
      });
    }
    const times = results
      .filter((r) => r.case && !r.waitedForHuman && !r.cutOff)
      .map((r) => r.toCaseMs)
      .sort((a, b) => a - b);
    const count = (f) => results.filter(f).length;
    const summary = {
      alerts: ALERTS,
      casesWritten: count((r) => r.case),
      failedWithoutCase: count((r) => r.status === 'failed' && !r.case),
      runsFailed: count((r) => r.status === 'failed'),
      runsCompleted: count((r) => r.status === 'completed'),
      waitedForHumanThenCancelled: reviewed.length,
      stillQueuedAtDeadlineThenCancelled: cutOff.length,
      agentGaveNoVerdict: count((r) => r.scoreFailed),
      verdicts: results.reduce((m, r) => ((m[r.verdict ?? '-'] = (m[r.verdict ?? '-'] ?? 0) + 1), m), {}),
      timeToCaseWithoutHuman: {
        n: times.length,
        p50: secs(pct(times, 50)),
        p95: secs(pct(times, 95)),
        max: secs(times.at(-1) ?? NaN),
      },
      wallTime: secs(Date.now() - t0),
      llmConcurrency: config.llm.concurrency ?? 'local default (1)',
      model: modelStats(path.join(dataDir, 'logs', 'model.log')),
    };
    console.log(JSON.stringify(summary, null, 2));
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  console.error(`alert-burst: ${err.message}`);
  process.exitCode = 1;
});
