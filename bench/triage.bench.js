// Triage runs per second, governed (runPlaybook + the triage playbook: policy, audit ledger, traces,
// summaries) against the same activity graph as a plain Temporal workflow, in the same run, on one real
// Temporal dev server, with a zero-latency scripted model. Prints runs/s and p50/p95 latency per run for
// both, and the ratio. BENCH_TRIAGE_RUNS sets the runs per side (all started at once); `--json` prints one
// JSON document.
'use strict';
const path = require('node:path');
const { Client, Connection } = require('@temporalio/client');
const lib = require('./lib');

const RUNS = Number(process.env.BENCH_TRIAGE_RUNS ?? 24);
const { normalizeAlert } = require(path.join(lib.triageDir, 'normalize'));
const { loadTriagePlaybook } = require(path.join(lib.triageDir, 'webhook'));
const { createWardenWorker } = require(path.join(lib.dist, 'worker'));
const { WardenClient } = require(path.join(lib.dist, 'client'));

const line = (label, m) =>
  lib.say(
    `${label.padEnd(34)} ${m.n} runs in ${m.seconds.toFixed(2)} s = ${m.perSec.toFixed(2)} runs/s, p50 ${m.p50} ms, p95 ${m.p95} ms`,
  );

lib.runBench('triage', async (figures) => {
  const { dir, cleanup } = lib.tempDir('triage');
  const server = await lib.startTemporal();
  const model = await lib.zeroLatencyModel();
  const logger = lib.benchLogger();
  const config = lib.benchConfig({ server, dir, baseURL: model.baseURL, taskQueue: 'bench-governed' });
  const playbook = loadTriagePlaybook();
  try {
    // Governed: the real worker (policy, audit ledger on SQLite, tracing interceptors, summaries), with the
    // build's workflow bundle, as a deployed worker loads it.
    const ww = await createWardenWorker({ config, logger });
    const governedRun = ww.run();
    // As the HTTP server starts webhook runs: it vouches (fleet key) for the webhook initiator it verified.
    const client = await WardenClient.connect(config, { attestAs: 'http' });
    // Plain: the same activities, no governance.
    const plain = await lib.startPlainWorker({
      connection: ww.connection,
      taskQueue: 'bench-plain',
      workflows: 'plain-triage',
      activities: lib.plainTriageActivities({ config, dir, baseURL: model.baseURL, logger }),
    });
    const temporal = new Client({ connection: await Connection.connect({ address: server.address }) });
    const alertFor = (i) => normalizeAlert('crowdstrike', lib.rawAlert(i));
    const governedRunOf = async (id) => {
      const alert = alertFor(id);
      const { workflowId } = await client.start(
        'runPlaybook',
        {
          playbook,
          input: { alert, settings: { confidenceThreshold: 0.7 } },
          initiator: 'webhook:crowdstrike',
          trigger: { type: 'webhook', ref: `crowdstrike/${alert.alertId}` },
        },
        { workflowId: `bench-${id}` },
      );
      const r = await client.result(workflowId);
      if (r.status !== 'completed') throw new Error(`run ${workflowId} ended ${r.status}`);
    };
    line('(warm-up, not counted)', await lib.timeRuns(RUNS, RUNS, (i) => governedRunOf(`warm-${i}`)));
    const p = await lib.timeRuns(RUNS, RUNS, (i) =>
      temporal.workflow.execute('plainTriage', {
        taskQueue: 'bench-plain',
        workflowId: `bench-plain-${i}`,
        args: [lib.plainTriageInput(`bench-plain-${i}`, alertFor(`p${i}`))],
      }),
    );
    line('plain Temporal workflow (baseline)', p);
    const g = await lib.timeRuns(RUNS, RUNS, (i) => governedRunOf(`governed-${i}`));
    line('governed triage (runPlaybook)', g);
    const ratio = g.perSec / p.perSec;
    lib.say(
      `governance overhead: governed/plain = ${ratio.toFixed(2)}x the baseline's runs/s (${(1 / ratio).toFixed(2)}x the time per run)`,
    );
    Object.assign(figures, {
      runs: RUNS,
      governedRunsPerSec: lib.round(g.perSec),
      governedP50Ms: g.p50,
      governedP95Ms: g.p95,
      plainRunsPerSec: lib.round(p.perSec),
      plainP50Ms: p.p50,
      plainP95Ms: p.p95,
      ratio: lib.round(ratio, 3),
    });
    ww.shutdown();
    plain.worker.shutdown();
    await Promise.all([governedRun, plain.running]);
    await ww.close();
    await client.close();
    await temporal.connection.close();
  } finally {
    model.close();
    await server.stop();
    cleanup();
  }
});
