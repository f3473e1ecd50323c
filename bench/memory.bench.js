// Worker memory with runs waiting for approval: a real `warden worker` process (bin/warden.js worker, the
// build's workflow bundle) on a Temporal dev server; BENCH_WAITING_RUNS runs (default 1,000) of a playbook
// whose one step is an approval are started, and the worker's resident set size (RSS, from /proc or ps) is
// read once every run is waiting. Baseline: the same worker's RSS when idle (started and polling, before the
// first run), and after one run waits (the workflow code is then loaded). Measured twice, each with its own
// worker: with the default settings, and with the bounded-memory profile the Kubernetes worker ships with. Prints them,
// the growth per waiting run and the ratios; `--json` prints one JSON document.
// BENCH_WAITING_STARTERS sets how many starts are in flight at once (default 32).
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { clearInterval, clearTimeout, setInterval } = require('node:timers');
const YAML = require('yaml');
const lib = require('./lib');

const RUNS = Number(process.env.BENCH_WAITING_RUNS ?? 1000);
const STARTERS = Number(process.env.BENCH_WAITING_STARTERS ?? 32);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 3000);
const { WardenClient } = require(path.join(lib.dist, 'client'));
const { loadConfig } = require(path.join(lib.dist, 'config'));

const playbook = {
  name: 'bench-waiting',
  steps: [{ id: 'approve', kind: 'approval', title: 'Bench: approve {{ input.n }}?', tier: 1, details: {} }],
};

/** Resident set size of process `pid` in MB. */
function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: ask ps
  }
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts `warden worker` with `env`; resolves with the child once it logs that it polls. */
function startWorker(env) {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'warden.js'), 'worker'], {
    env: { ...process.env, ...env, WARDEN_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (c) => {
      out += c;
      if (out.includes('"worker started"')) {
        out = '';
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', (code) => reject(new Error(`warden worker exited (${code}): ${out.slice(-1000)}`)));
  });
}

/** Runs `fn` over `items`, `concurrency` at a time. */
async function pool(items, concurrency, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Environment variables of the bounded-memory profile (docs/operations.md "Memory"). */
const PROFILE_KEYS = [
  'WARDEN_WORKER_MAX_CACHED_WORKFLOWS',
  'NODE_OPTIONS',
  'MALLOC_ARENA_MAX',
  'MALLOC_TRIM_THRESHOLD_',
  'MALLOC_MMAP_THRESHOLD_',
];

/**
 * The bounded-memory profile as shipped: read from the Kubernetes worker Deployment (a small sticky cache,
 * glibc malloc told to return freed memory, V8's old space capped per isolate), so the figure is the
 * manifest's own.
 */
function boundedProfile() {
  const file = path.join(__dirname, '..', 'deploy', 'kubernetes', 'warden.yaml');
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS());
  const worker = docs.find(
    (d) => d?.kind === 'Deployment' && d.spec?.template?.spec?.containers?.[0]?.args?.[0] === 'worker',
  )?.spec.template.spec.containers[0];
  const env = Object.fromEntries((worker?.env ?? []).map((e) => [e.name, e.value]));
  const missing = PROFILE_KEYS.filter((k) => env[k] === undefined);
  if (missing.length) throw new Error(`${file}: the worker Deployment does not set ${missing.join(', ')}`);
  return Object.fromEntries(PROFILE_KEYS.map((k) => [k, String(env[k])]));
}

/** One worker, idle then with RUNS runs waiting; its own task queue. Returns the figures. */
async function measureWorker(label, { server, dir, model }, workerEnv) {
  const taskQueue = `bench-waiting-${label}`;
  const env = lib.benchEnv({ server, dir, baseURL: model.baseURL, taskQueue });
  let worker;
  let sampler;
  const killOnExit = () => worker?.kill('SIGKILL');
  // The worker is this process's child: it must not outlive the benchmark, however the benchmark ends.
  process.once('exit', killOnExit);
  try {
    worker = await startWorker({ ...env, ...workerEnv });
    const exited = new Promise((r) => worker.on('exit', r));
    const client = await WardenClient.connect(loadConfig(env), { attestAs: 'http' });
    await sleep(SETTLE_MS);
    const idle = rssMb(worker.pid);
    lib.say(`[${label}] worker idle (baseline)              RSS ${idle.toFixed(1)} MB`);

    const start = (workflowId) =>
      client.start(
        'runPlaybook',
        {
          playbook,
          input: { n: workflowId },
          initiator: 'webhook:bench',
          trigger: { type: 'webhook', ref: workflowId },
        },
        { workflowId },
      );
    // Waiting = the server has no workflow task or activity pending for the run and its first task is done:
    // it is blocked at the gate. Asked of the server (describe), not the worker: a query per run would
    // make the worker replay runs and load the very process being measured. Checked by a query at the end.
    const isWaiting = async (id) => {
      const d = await client.temporal.workflow.getHandle(id).describe();
      const raw = d.raw;
      return d.historyLength > 3 && !raw.pendingWorkflowTask && (raw.pendingActivities ?? []).length === 0;
    };
    const allWaitingOf = async (ids, deadline) => {
      let left = ids;
      while (left.length) {
        const still = [];
        await pool(left, 16, async (id) => {
          if (!(await isWaiting(id))) still.push(id);
        });
        left = still;
        if (left.length) await sleep(1000);
        if (Date.now() > deadline) throw new Error(`${left.length} of ${ids.length} runs not waiting in time`);
      }
      const sample = ids.filter((_, k) => k % Math.ceil(ids.length / 5) === 0);
      for (const id of sample) {
        if ((await client.pendingApprovalsOf(id)).length !== 1)
          throw new Error(`run ${id} is not waiting for approval`);
      }
    };
    // One run first: the worker then has the workflow bundle loaded, so what follows is the cost per run.
    const firstId = `bench-waiting-${label}-first`;
    await start(firstId);
    await allWaitingOf([firstId], Date.now() + 5 * 60_000);
    await sleep(SETTLE_MS);
    const first = rssMb(worker.pid);
    lib.say(`[${label}] 1 run waiting (workflow code loaded) RSS ${first.toFixed(1)} MB`);

    const ids = Array.from({ length: RUNS }, (_, i) => `bench-waiting-${label}-${i}`);
    const t0 = Date.now();
    let peak = first;
    sampler = setInterval(() => (peak = Math.max(peak, rssMb(worker.pid))), 250);
    await pool(ids, STARTERS, start);
    await allWaitingOf(ids, t0 + 30 * 60_000);
    const allWaiting = (Date.now() - t0) / 1000;
    const waiting = rssMb(worker.pid);
    await sleep(SETTLE_MS);
    const settled = rssMb(worker.pid);
    clearInterval(sampler);
    peak = Math.max(peak, waiting, settled);
    lib.say(
      `[${label}] ${RUNS} runs waiting for approval       RSS ${waiting.toFixed(1)} MB (${settled.toFixed(1)} MB ${SETTLE_MS / 1000} s later, peak ${peak.toFixed(1)} MB; all waiting after ${allWaiting.toFixed(1)} s)`,
    );
    const perRunKb = ((settled - first) * 1024) / RUNS;
    lib.say(
      `[${label}] waiting/idle = ${(settled / idle).toFixed(2)}x the idle worker's RSS (${perRunKb.toFixed(1)} kB per waiting run after the first)`,
    );
    await client.close();
    worker.kill('SIGTERM');
    const killer = setTimeout(() => worker.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
    return {
      runs: RUNS,
      idleRssMb: lib.round(idle, 1),
      firstRunRssMb: lib.round(first, 1),
      waitingRssMb: lib.round(settled, 1),
      peakRssMb: lib.round(peak, 1),
      perRunKb: lib.round(perRunKb, 1),
      secondsToAllWaiting: lib.round(allWaiting, 1),
      ratio: lib.round(settled / idle, 3),
    };
  } finally {
    clearInterval(sampler);
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    process.off('exit', killOnExit);
  }
}

lib.runBench('memory', async (figures) => {
  const { dir, cleanup } = lib.tempDir('memory');
  const server = await lib.startTemporal();
  const model = await lib.zeroLatencyModel();
  process.once('SIGTERM', () => process.exit(143));
  process.once('SIGINT', () => process.exit(130));
  try {
    // The settings as shipped (the default sticky cache), then the bounded-memory profile.
    Object.assign(figures, await measureWorker('default', { server, dir, model }, {}));
    figures.bounded = await measureWorker('bounded', { server, dir, model }, boundedProfile());
    lib.say(
      `bounded profile: ${figures.bounded.waitingRssMb} MB with ${RUNS} runs waiting = ` +
        `${(figures.bounded.waitingRssMb / figures.waitingRssMb).toFixed(2)}x the default settings' ${figures.waitingRssMb} MB`,
    );
  } finally {
    model.close();
    await server.stop();
    cleanup();
  }
});
