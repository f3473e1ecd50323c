// A 10-step action playbook (runPlaybook: ten asset_lookup actions, each through policy, audit and tracing)
// against the same ten lookups as sequential activities of a plain Temporal workflow, in the same run, on one
// real Temporal dev server. Prints runs/s and p50/p95 latency per run for both, and the ratio.
// BENCH_ACTIONS_RUNS runs per side (default 24), BENCH_ACTIONS_CONCURRENCY runs in flight (default 8),
// BENCH_ACTIONS_STEPS steps per run (default 10); `--json` prints one JSON document.
'use strict';
const path = require('node:path');
const { Client, Connection } = require('@temporalio/client');
const lib = require('./lib');

const RUNS = Number(process.env.BENCH_ACTIONS_RUNS ?? 24);
const CONCURRENCY = Number(process.env.BENCH_ACTIONS_CONCURRENCY ?? 8);
const STEPS = Number(process.env.BENCH_ACTIONS_STEPS ?? 10);
const HOST = 'fin-laptop-07';
const { createWardenWorker } = require(path.join(lib.dist, 'worker'));
const { WardenClient } = require(path.join(lib.dist, 'client'));

const playbook = {
  name: 'bench-actions',
  steps: Array.from({ length: STEPS }, (_, i) => ({
    id: `lookup_${i}`,
    kind: 'action',
    tool: 'asset_lookup',
    args: { host: '{{ input.host }}' },
  })),
};

const line = (label, m) =>
  lib.say(
    `${label.padEnd(44)} ${m.n} runs in ${m.seconds.toFixed(2)} s = ${m.perSec.toFixed(2)} runs/s, p50 ${m.p50} ms, p95 ${m.p95} ms`,
  );

lib.runBench('actions', async (figures) => {
  const { dir, cleanup } = lib.tempDir('actions');
  const server = await lib.startTemporal();
  const model = await lib.zeroLatencyModel();
  const logger = lib.benchLogger();
  const config = lib.benchConfig({ server, dir, baseURL: model.baseURL, taskQueue: 'bench-governed' });
  try {
    const ww = await createWardenWorker({ config, logger });
    const governedRun = ww.run();
    const client = await WardenClient.connect(config, { attestAs: 'http' });
    const tool = lib.assetLookupTool(config);
    const ctx = lib.toolContext(logger);
    const plain = await lib.startPlainWorker({
      connection: ww.connection,
      taskQueue: 'bench-plain',
      workflows: 'plain-actions',
      activities: { plainAssetLookup: (a) => tool.execute(a, ctx) },
    });
    const temporal = new Client({ connection: await Connection.connect({ address: server.address }) });
    const governedRunOf = async (id) => {
      const { workflowId } = await client.start(
        'runPlaybook',
        { playbook, input: { host: HOST }, initiator: 'webhook:bench', trigger: { type: 'webhook', ref: id } },
        { workflowId: `bench-${id}` },
      );
      const r = await client.result(workflowId);
      if (r.status !== 'completed') throw new Error(`run ${workflowId} ended ${r.status}`);
    };
    line('(warm-up, not counted)', await lib.timeRuns(CONCURRENCY, CONCURRENCY, (i) => governedRunOf(`warm-${i}`)));
    const p = await lib.timeRuns(RUNS, CONCURRENCY, (i) =>
      temporal.workflow.execute('plainActions', {
        taskQueue: 'bench-plain',
        workflowId: `bench-plain-${i}`,
        args: [{ steps: STEPS, host: HOST }],
      }),
    );
    line(`${STEPS} sequential plain activities (baseline)`, p);
    const g = await lib.timeRuns(RUNS, CONCURRENCY, (i) => governedRunOf(`governed-${i}`));
    line(`${STEPS}-step action playbook (runPlaybook)`, g);
    const ratio = g.perSec / p.perSec;
    lib.say(
      `governed/plain = ${ratio.toFixed(2)}x the baseline's runs/s (p50 ${(g.p50 / p.p50).toFixed(2)}x the time)`,
    );
    Object.assign(figures, {
      runs: RUNS,
      concurrency: CONCURRENCY,
      steps: STEPS,
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
