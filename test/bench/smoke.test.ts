import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Tiny sizes: the smoke shows every benchmark runs and reports its figures, not how fast anything is. */
const TINY = {
  BENCH_TRIAGE_RUNS: '2',
  BENCH_ACTIONS_RUNS: '2',
  BENCH_ACTIONS_CONCURRENCY: '2',
  BENCH_FOREACH_ITEMS: '20',
  BENCH_FOREACH_BATCH: '10',
  BENCH_FOREACH_CONCURRENCY: '5',
  BENCH_WEBHOOK_ALERTS: '2',
  BENCH_WEBHOOK_CLIENTS: '4',
  BENCH_WAITING_RUNS: '10',
  BENCH_SETTLE_MS: '200',
  BENCH_BUDGET_MS: '300',
  BENCH_POSTGRES: '0',
  BENCH_VERIFY_RECORDS: '2000',
};

/** The figures each benchmark's JSON document must carry as finite numbers. */
const FIGURES: Record<string, string[]> = {
  'triage.bench.js': ['governedRunsPerSec', 'plainRunsPerSec', 'governedP95Ms', 'plainP95Ms', 'ratio'],
  'actions.bench.js': ['governedRunsPerSec', 'plainRunsPerSec', 'governedP50Ms', 'governedP95Ms', 'ratio'],
  'foreach.bench.js': ['governedItemsPerSec', 'plainItemsPerSec', 'ratio'],
  'webhook.bench.js': [
    'decisionP50Ms',
    'decisionP95Ms',
    'plainTriageP95Ms',
    'acceptPerSec',
    'acceptP95Ms',
    'healthzPerSec',
    'acceptRatio',
    'acceptVsRawStart',
  ],
  'memory.bench.js': ['idleRssMb', 'waitingRssMb', 'perRunKb', 'ratio'],
};

interface BenchDocument {
  bench?: string;
  loadavg?: number[];
  figures?: Record<string, unknown>;
  results?: { recordsPerSec: unknown }[];
  error?: string;
}

/** `node bench/run.js --json <filters>` with the tiny sizes; resolves with its exit code, stdout and stderr. */
function runBenches(filters: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'run.js'), '--json', ...filters], {
      cwd: ROOT,
      env: { ...process.env, ...TINY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('benchmark suite smoke (tiny sizes: that it runs, not how fast)', () => {
  jest.setTimeout(240_000);

  it('runs every benchmark but the local model with --json and prints one document with finite figures', async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'worker.js'))) {
      throw new Error('dist/ is missing: the benchmarks load the build; run `npm run build` (npm test builds first)');
    }
    // Filters select files by name: every benchmark except model.bench.js (it needs the embedded model).
    const run = await runBenches([...Object.keys(FIGURES), 'audit.bench.js']);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
    const doc = JSON.parse(run.stdout) as Record<string, BenchDocument>;
    expect(Object.keys(doc).sort()).toEqual([...Object.keys(FIGURES), 'audit.bench.js'].sort());
    for (const [file, keys] of Object.entries(FIGURES)) {
      const figures = doc[file]?.figures ?? {};
      const notFinite = keys.filter((k) => typeof figures[k] !== 'number' || !Number.isFinite(figures[k]));
      expect({ file, notFinite, error: doc[file]?.error }).toEqual({ file, notFinite: [], error: undefined });
      expect(doc[file]?.loadavg).toHaveLength(3);
    }
    // The memory benchmark measures a second worker with the bounded-memory profile.
    const bounded = (doc['memory.bench.js']?.figures?.bounded ?? {}) as Record<string, unknown>;
    expect(['idleRssMb', 'waitingRssMb', 'perRunKb'].filter((k) => !Number.isFinite(bounded[k]))).toEqual([]);
    const audit = doc['audit.bench.js']?.results ?? [];
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((r) => typeof r.recordsPerSec === 'number' && Number.isFinite(r.recordsPerSec))).toBe(true);
  });
});
