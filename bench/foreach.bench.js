// forEach over many items at a concurrency cap (runPlaybook: one forEach step, one asset_lookup action per
// item, in batch child workflows) against the ideal the cap and a plain activity allow: a plain Temporal
// workflow running the same lookup as activities, at most the same cap in flight, in the same run on one
// real Temporal dev server. Prints items/s for both and the ratio.
// BENCH_FOREACH_ITEMS items (default 10,000), BENCH_FOREACH_CONCURRENCY the cap (default 25),
// BENCH_FOREACH_BATCH items per batch child (default 100), BENCH_FOREACH_PLAIN_ITEMS items of the baseline
// (default min(items, 2,000): a plain workflow keeps every activity in one history); `--json`.
'use strict';
const path = require('node:path');
const { Client, Connection } = require('@temporalio/client');
const lib = require('./lib');

const ITEMS = Number(process.env.BENCH_FOREACH_ITEMS ?? 10_000);
const CAP = Number(process.env.BENCH_FOREACH_CONCURRENCY ?? 25);
const BATCH = Number(process.env.BENCH_FOREACH_BATCH ?? 100);
const PLAIN_ITEMS = Number(process.env.BENCH_FOREACH_PLAIN_ITEMS ?? Math.min(ITEMS, 2_000));
const { createWardenWorker } = require(path.join(lib.dist, 'worker'));
const { WardenClient } = require(path.join(lib.dist, 'client'));

const playbookOf = (name) => ({
  name,
  steps: [
    {
      id: 'each',
      kind: 'forEach',
      items: 'input.hosts',
      concurrency: CAP,
      batchSize: BATCH,
      // Only failures in the output: 10,000 items' results would make the step output the size of the run.
      collect: 'failures',
      steps: [{ id: 'lookup', kind: 'action', tool: 'asset_lookup', args: { host: '{{ item }}' } }],
    },
  ],
});
const hosts = (n) => Array.from({ length: n }, (_, i) => `ws${i}`);

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

lib.runBench('foreach', async (figures) => {
  const { dir, cleanup } = lib.tempDir('foreach');
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
      workflows: 'plain-for-each',
      activities: { plainAssetLookup: (a) => tool.execute(a, ctx) },
    });
    const temporal = new Client({ connection: await Connection.connect({ address: server.address }) });
    const governed = async (id, n) => {
      const { workflowId } = await client.start(
        'runPlaybook',
        {
          playbook: playbookOf('bench-foreach'),
          input: { hosts: hosts(n) },
          initiator: 'webhook:bench',
          trigger: { type: 'webhook', ref: id },
        },
        { workflowId: `bench-${id}` },
      );
      const r = await client.result(workflowId);
      if (r.status !== 'completed') throw new Error(`run ${workflowId} ended ${r.status}`);
      const each = r.outputs.each;
      if (each.total !== n || each.succeeded !== n) throw new Error(`forEach: ${JSON.stringify(each).slice(0, 300)}`);
    };
    const warm = Math.min(ITEMS, 2 * BATCH);
    await governed('warm', warm);
    await temporal.workflow.execute('plainForEach', {
      taskQueue: 'bench-plain',
      workflowId: 'bench-plain-warm',
      args: [{ items: hosts(Math.min(PLAIN_ITEMS, 200)), concurrency: CAP }],
    });
    lib.say(`(warm-up, not counted: ${warm} governed items, ${Math.min(PLAIN_ITEMS, 200)} plain)`);
    const ps = await timed(() =>
      temporal.workflow.execute('plainForEach', {
        taskQueue: 'bench-plain',
        workflowId: 'bench-plain',
        args: [{ items: hosts(PLAIN_ITEMS), concurrency: CAP }],
      }),
    );
    const plainRate = PLAIN_ITEMS / ps;
    lib.say(
      `plain activities, ${CAP} in flight (ideal)    ${PLAIN_ITEMS} items in ${ps.toFixed(2)} s = ${plainRate.toFixed(1)} items/s`,
    );
    const gs = await timed(() => governed('governed', ITEMS));
    const governedRate = ITEMS / gs;
    lib.say(
      `forEach, concurrency ${CAP}, batches of ${BATCH}   ${ITEMS} items in ${gs.toFixed(2)} s = ${governedRate.toFixed(1)} items/s`,
    );
    const ratio = governedRate / plainRate;
    lib.say(`governed/ideal = ${ratio.toFixed(2)}x the items/s the cap and a plain activity allow`);
    Object.assign(figures, {
      items: ITEMS,
      concurrency: CAP,
      batchSize: BATCH,
      plainItems: PLAIN_ITEMS,
      governedItemsPerSec: lib.round(governedRate, 1),
      governedSeconds: lib.round(gs),
      plainItemsPerSec: lib.round(plainRate, 1),
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
