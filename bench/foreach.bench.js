// forEach over many items at a concurrency cap (runPlaybook: one forEach step, one asset_lookup action per
// item, in batch child workflows) against the ideal the cap and a plain activity allow: a plain Temporal
// workflow running the same lookup as activities, at most the same cap in flight, in the same run on one
// real Temporal dev server. Prints items/s for both and the ratio.
// BENCH_FOREACH_ITEMS items (default 10,000), BENCH_FOREACH_CONCURRENCY the cap (default 25),
// BENCH_FOREACH_BATCH items per batch child (default 100), BENCH_FOREACH_PLAIN_ITEMS items of the baseline
// (default min(items, 2,000): a plain workflow keeps every activity in one history), BENCH_FOREACH_TIMEOUT_MS
// how long the governed run may take before it is terminated and the benchmark fails (default 250 ms an
// item, at least 2 min); `--json`.
'use strict';
const lib = require('./lib');

const ITEMS = Number(process.env.BENCH_FOREACH_ITEMS ?? 10_000);
const CAP = Number(process.env.BENCH_FOREACH_CONCURRENCY ?? 25);
const BATCH = Number(process.env.BENCH_FOREACH_BATCH ?? 100);
const TIMEOUT_MS = process.env.BENCH_FOREACH_TIMEOUT_MS ? Number(process.env.BENCH_FOREACH_TIMEOUT_MS) : undefined;
const PLAIN_ITEMS = Number(process.env.BENCH_FOREACH_PLAIN_ITEMS ?? Math.min(ITEMS, 2_000));

const playbook = {
  name: 'bench-foreach',
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
};
const hosts = (n) => Array.from({ length: n }, (_, i) => `ws${i}`);

/** Items/s of `fn()` over `n` items. */
async function itemsPerSec(n, fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { n, seconds, perSec: n / seconds };
}

lib.runBench('foreach', async (figures) => {
  const stack = await lib.startStack({
    name: 'foreach',
    plainWorkflows: 'plain-for-each',
    plainActivities: lib.assetLookupActivity,
  });
  try {
    // Generous (250 ms an item; it ran at about 25 items/s here): a run taking longer is stuck, not slow.
    const governed = async (id, n) => {
      const timeoutMs = Math.max(120_000, TIMEOUT_MS ?? n * 250);
      const each = (await stack.runGoverned(id, playbook, { hosts: hosts(n) }, { timeoutMs })).outputs.each;
      if (each.total !== n || each.succeeded !== n) throw new Error(`forEach: ${JSON.stringify(each).slice(0, 300)}`);
    };
    const plain = (id, n) => stack.runPlain(id, 'plainForEach', { items: hosts(n), concurrency: CAP });
    const warm = { governed: Math.min(ITEMS, 2 * BATCH), plain: Math.min(PLAIN_ITEMS, 200) };
    await governed('warm', warm.governed);
    await plain('warm', warm.plain);
    lib.say(`(warm-up, not counted: ${warm.governed} governed items, ${warm.plain} plain)`);
    const line = (label, m) =>
      lib.say(`${label.padEnd(44)} ${m.n} items in ${m.seconds.toFixed(2)} s = ${m.perSec.toFixed(1)} items/s`);
    const p = await itemsPerSec(PLAIN_ITEMS, () => plain('run', PLAIN_ITEMS));
    line(`plain activities, ${CAP} in flight (ideal)`, p);
    const g = await itemsPerSec(ITEMS, () => governed('governed', ITEMS));
    line(`forEach, concurrency ${CAP}, batches of ${BATCH}`, g);
    const ratio = g.perSec / p.perSec;
    lib.say(`governed/ideal = ${ratio.toFixed(2)}x the items/s the cap and a plain activity allow`);
    Object.assign(figures, {
      items: ITEMS,
      concurrency: CAP,
      batchSize: BATCH,
      plainItems: PLAIN_ITEMS,
      governedItemsPerSec: lib.round(g.perSec, 1),
      governedSeconds: lib.round(g.seconds),
      plainItemsPerSec: lib.round(p.perSec, 1),
      ratio: lib.round(ratio, 3),
    });
  } finally {
    await stack.close();
  }
});
