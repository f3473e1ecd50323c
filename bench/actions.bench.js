// A 10-step action playbook (runPlaybook: ten asset_lookup actions, each through policy, audit and tracing)
// against the same ten lookups as sequential activities of a plain Temporal workflow, in the same run, on one
// real Temporal dev server. Prints runs/s and p50/p95 latency per run for both, and the ratio.
// BENCH_ACTIONS_RUNS runs per side (default 24), BENCH_ACTIONS_CONCURRENCY runs in flight (default 8),
// BENCH_ACTIONS_STEPS steps per run (default 10); `--json` prints one JSON document.
'use strict';
const lib = require('./lib');

const RUNS = Number(process.env.BENCH_ACTIONS_RUNS ?? 24);
const CONCURRENCY = Number(process.env.BENCH_ACTIONS_CONCURRENCY ?? 8);
const STEPS = Number(process.env.BENCH_ACTIONS_STEPS ?? 10);
const HOST = 'fin-laptop-07';

const playbook = {
  name: 'bench-actions',
  steps: Array.from({ length: STEPS }, (_, i) => ({
    id: `lookup_${i}`,
    kind: 'action',
    tool: 'asset_lookup',
    args: { host: '{{ input.host }}' },
  })),
};

lib.runBench('actions', async (figures) => {
  const stack = await lib.startStack({
    name: 'actions',
    plainWorkflows: 'plain-actions',
    plainActivities: lib.assetLookupActivity,
  });
  try {
    const governed = (id) => stack.runGoverned(id, playbook, { host: HOST });
    lib.runsLine('(warm-up, not counted)', await lib.timeRuns(CONCURRENCY, CONCURRENCY, (i) => governed(`warm-${i}`)));
    const p = await lib.timeRuns(RUNS, CONCURRENCY, (i) =>
      stack.runPlain(i, 'plainActions', { steps: STEPS, host: HOST }),
    );
    lib.runsLine(`${STEPS} sequential plain activities (baseline)`, p);
    const g = await lib.timeRuns(RUNS, CONCURRENCY, (i) => governed(`governed-${i}`));
    lib.runsLine(`${STEPS}-step action playbook (runPlaybook)`, g);
    lib.say(
      `governed/plain = ${(g.perSec / p.perSec).toFixed(2)}x the baseline's runs/s (p50 ${(g.p50 / p.p50).toFixed(2)}x the time)`,
    );
    Object.assign(figures, { runs: RUNS, concurrency: CONCURRENCY, steps: STEPS, ...lib.runFigures(g, p) });
  } finally {
    await stack.close();
  }
});
