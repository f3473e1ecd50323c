// Triage runs per second, governed (runPlaybook + the triage playbook: policy, audit ledger, traces,
// summaries) against the same activity graph as a plain Temporal workflow, in the same run, on one real
// Temporal dev server, with a zero-latency scripted model. Prints runs/s and p50/p95 latency per run for
// both, and the ratio. BENCH_TRIAGE_RUNS sets the runs per side (all started at once); `--json` prints one
// JSON document.
'use strict';
const path = require('node:path');
const lib = require('./lib');

const RUNS = Number(process.env.BENCH_TRIAGE_RUNS ?? 24);
const { normalizeAlert } = require(path.join(lib.triageDir, 'normalize'));
const { loadTriagePlaybook } = require(path.join(lib.triageDir, 'webhook'));

lib.runBench('triage', async (figures) => {
  const stack = await lib.startStack({
    name: 'triage',
    plainWorkflows: 'plain-triage',
    plainActivities: lib.plainTriageActivities,
  });
  try {
    const playbook = loadTriagePlaybook();
    const alertFor = (i) => normalizeAlert('crowdstrike', lib.rawAlert(i));
    const governed = (id) => {
      const alert = alertFor(id);
      return stack.runGoverned(
        id,
        playbook,
        { alert, settings: { confidenceThreshold: 0.7 } },
        {
          source: 'crowdstrike',
        },
      );
    };
    lib.runsLine('(warm-up, not counted)', await lib.timeRuns(RUNS, RUNS, (i) => governed(`warm-${i}`)), 34);
    const p = await lib.timeRuns(RUNS, RUNS, (i) =>
      stack.runPlain(i, 'plainTriage', lib.plainTriageInput(`bench-plain-${i}`, alertFor(`p${i}`))),
    );
    lib.runsLine('plain Temporal workflow (baseline)', p, 34);
    const g = await lib.timeRuns(RUNS, RUNS, (i) => governed(`governed-${i}`));
    lib.runsLine('governed triage (runPlaybook)', g, 34);
    const ratio = g.perSec / p.perSec;
    lib.say(
      `governance overhead: governed/plain = ${ratio.toFixed(2)}x the baseline's runs/s (${(1 / ratio).toFixed(2)}x the time per run)`,
    );
    // One run of each side, as Temporal recorded it.
    const shapes = {
      governedHistory: await lib.historyShape(stack.temporal, 'bench-governed-0'),
      plainHistory: await lib.historyShape(stack.temporal, 'bench-plain-0'),
    };
    const line = (h) =>
      `${h.events} events, ${h.workflowTasks} workflow tasks, activities ${JSON.stringify(h.activities)}, local activities ${JSON.stringify(h.localActivities)}`;
    lib.say(`one governed run: ${line(shapes.governedHistory)}`);
    lib.say(`one plain run:    ${line(shapes.plainHistory)}`);
    Object.assign(figures, { runs: RUNS, ...lib.runFigures(g, p), ...shapes });
  } finally {
    await stack.close();
  }
});
