import fs from 'node:fs';
import path from 'node:path';

/** The third-party data folder: `../shared/data` beside the project root (see its README). */
export const SHARED_DATA_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'data');

/**
 * The path of a folder in the shared data, or an Error saying the folder is required. Suites call it at
 * load time, so a checkout without `../shared/data` fails loudly instead of skipping: CI always has it.
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
