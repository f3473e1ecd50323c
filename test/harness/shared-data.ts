import fs from 'node:fs';
import path from 'node:path';

/** The third-party data folder: `../shared/data` beside the project root (see its README). */
export const SHARED_DATA_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'data');

/** True when the tests must have the shared data (CI always provides it). */
export function sharedDataRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

/**
 * Where a folder of the shared data is, or undefined when this checkout has none. With `CI=true` a missing
 * folder throws instead: CI always has `../shared/data`, so there a missing folder is a failure.
 */
export function sharedDataDir(sub: string): string | undefined {
  const dir = path.join(SHARED_DATA_DIR, sub);
  if (fs.existsSync(dir)) return dir;
  if (sharedDataRequired())
    throw new Error(
      `${dir} is missing: CI=true requires the real third-party data folder ../shared/data next to the project root.`,
    );
  return undefined;
}

/**
 * `describe` over the shared data: runs the suite with the folder's path when `../shared/data/<sub>` is
 * present; otherwise skips it with a one-line note naming the folder (a user's fresh clone has none).
 * With `CI=true` a missing folder fails the suite.
 */
export function describeWithSharedData(name: string, sub: string, fn: (dir: string) => void): void {
  const dir = sharedDataDir(sub);
  if (dir) {
    describe(name, () => fn(dir));
    return;
  }
  // A visible, named skip: the note says which folder is missing and how to get the suite to run.
  describe.skip(`${name} — skipped: ${path.join(SHARED_DATA_DIR, sub)} is absent (CI=true requires it)`, () => {
    it('needs ../shared/data', () => undefined);
  });
  process.stderr.write(`note: skipping "${name}": ${path.join(SHARED_DATA_DIR, sub)} is absent\n`);
}

/**
 * The path of a folder in the shared data for code that needs it outright.
 * @throws Error saying the folder is missing.
 */
export function sharedDataPath(sub: string): string {
  const dir = path.join(SHARED_DATA_DIR, sub);
  if (!fs.existsSync(dir))
    throw new Error(
      `${dir} is missing: these tests need the real third-party data folder ../shared/data next to the project ` +
        `root (CI always has it; a fresh clone does not). Put it there, or run the other suites.`,
    );
  return dir;
}

/** Reads a JSON file. */
export function readJson<T = unknown>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** The data lines of a feed file: no blank lines, no `#` comments. */
export function feedLines(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
