import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { WorkflowBundlePath, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from '../telemetry/logger';
import { sdkLogger } from '../telemetry/logger';
import { WORKFLOW_TRACING_MODULE } from '../telemetry/tracing';

/*
 * The workflow bundle, built once with the code instead of by every worker at start-up. Temporal workers
 * run workflow code from a webpack bundle; bundling takes seconds to minutes, so `npm run build` writes
 * dist/workflow-bundle.js (the SDK's recommended production set-up) and workers load it. A stamp beside it
 * holds fingerprints of the code it was made from: a worker uses the bundle only while the compiled code
 * still matches it, and otherwise bundles for itself, so a bundle can never run code other than what is
 * installed.
 */

/** The workflow barrel the worker loads (src/workflows/index.ts, or dist/workflows/index.js when built). */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/** The build directory this module runs from (dist/ when built; tests pass the checkout's dist/). */
const OWN_DIST = path.join(__dirname, '..');
const bundleFile = (distDir: string) => path.join(distDir, 'workflow-bundle.js');
const stampFile = (distDir: string) => path.join(distDir, 'workflow-bundle.json');

/** Fingerprints of what a bundle was made from. */
export interface BundleStamp {
  /** The compiled code (every .js file of the build but the bundle) and the dependency lock. */
  code: string;
  /** The TypeScript sources the build was compiled from, when they are present (a checkout). */
  sources?: string;
}

/**
 * Modules each workflow thread loads once and every run shares (see src/workflows/preload.ts): the
 * stateless libraries workflow code uses, and `long` (Temporal's protobuf layer; pure).
 */
export const SHARED_WORKFLOW_MODULES = [require.resolve('../workflows/preload'), 'long'];

/** Bundles workflow code (webpack); pass the result to several workers to save seconds each. */
export async function bundleWorkflows(logger?: Logger): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
    preloadModules: SHARED_WORKFLOW_MODULES,
    logger: logger ? sdkLogger(logger.child({ component: 'bundler' })) : undefined,
  });
}

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((rel) => path.join(dir, rel))
    .filter((file) => keep(file) && fs.statSync(file).isFile())
    .sort();
}

function fingerprint(root: string, files: string[], extra: string[] = []): string {
  const hash = createHash('sha256');
  for (const file of [...files, ...extra.filter((f) => fs.existsSync(f))]) {
    hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

const FINGERPRINTS: Record<keyof BundleStamp, (distDir: string) => string | undefined> = {
  code(distDir) {
    const root = path.dirname(distDir);
    const files = filesUnder(distDir, (f) => f.endsWith('.js') && f !== bundleFile(distDir));
    return fingerprint(root, files, [path.join(root, 'package-lock.json')]);
  },
  sources(distDir) {
    const root = path.dirname(distDir);
    const files = filesUnder(path.join(root, 'src'), (f) => f.endsWith('.ts'));
    return files.length ? fingerprint(root, files, [path.join(root, 'package-lock.json')]) : undefined;
  },
};

/** The stamp of the code as it is now: what a bundle made from it would carry. */
export function currentStamp(distDir: string = OWN_DIST): BundleStamp {
  const sources = FINGERPRINTS.sources(distDir);
  return { code: FINGERPRINTS.code(distDir) ?? '', ...(sources ? { sources } : {}) };
}

function readStamp(file: string): BundleStamp | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as BundleStamp;
  } catch {
    return undefined;
  }
}

/**
 * The prebuilt bundle when it was made from exactly the code installed now (`match: 'code'`, what
 * workers check) or from exactly the sources checked out now (`match: 'sources'`, what the test harness
 * checks: it runs the TypeScript, not dist/). Undefined otherwise: the caller bundles for itself.
 */
export function prebuiltWorkflowBundle(
  match: keyof BundleStamp = 'code',
  distDir: string = OWN_DIST,
): WorkflowBundlePath | undefined {
  const stamp = readStamp(stampFile(distDir));
  if (!stamp || !fs.existsSync(bundleFile(distDir))) return undefined;
  const expected = stamp[match];
  return expected !== undefined && expected === FINGERPRINTS[match](distDir)
    ? { codePath: bundleFile(distDir) }
    : undefined;
}

/**
 * Writes dist/workflow-bundle.js and its stamp unless the bundle there is already current (what
 * `npm run build` runs after compiling). Resolves with whether it bundled.
 */
export async function writeWorkflowBundle(logger?: Logger, distDir: string = OWN_DIST): Promise<boolean> {
  const now = currentStamp(distDir);
  const stamp = readStamp(stampFile(distDir));
  if (stamp?.code === now.code && stamp.sources === now.sources && fs.existsSync(bundleFile(distDir))) return false;
  const { code } = await bundleWorkflows(logger);
  // Stamp removed first and written last: an interrupted build leaves no stamp, so nothing trusts a partial bundle.
  fs.rmSync(stampFile(distDir), { force: true });
  fs.writeFileSync(bundleFile(distDir), code);
  fs.writeFileSync(stampFile(distDir), `${JSON.stringify(now, null, 2)}\n`);
  return true;
}
