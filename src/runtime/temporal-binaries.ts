import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors';

/** Project root (where package.json and .tools/ live), from both src/ and dist/. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Where scripts/setup-temporal.sh installs the pinned binaries. */
export const TOOLS_BIN = path.join(PROJECT_ROOT, '.tools', 'temporal', 'bin');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Finds the Temporal CLI: an explicit path, then the project's pinned copy, then `temporal` on PATH.
 * Never downloads anything.
 * @throws UserError saying how to provision it.
 */
export function resolveTemporalCli(explicit?: string): string {
  if (explicit) {
    try {
      fs.accessSync(explicit, fs.constants.X_OK);
      return explicit;
    } catch {
      throw new UserError(`TEMPORAL_CLI_PATH=${explicit} is not an executable file — fix the path or unset it`);
    }
  }
  const local = path.join(TOOLS_BIN, 'temporal');
  if (fs.existsSync(local)) return local;
  const found = onPath('temporal');
  if (found) return found;
  throw new UserError(
    'the Temporal CLI is not installed — run `npm run setup:temporal` (installs the pinned CLI into .tools/), ' +
      'or set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS to use an existing cluster',
  );
}

/** Finds the time-skipping test server (tests only): TEMPORAL_TEST_SERVER_PATH or the pinned copy. */
export function resolveTestServer(explicit?: string): string {
  const candidate = explicit ?? path.join(TOOLS_BIN, 'temporal-test-server');
  if (fs.existsSync(candidate)) return candidate;
  throw new UserError('temporal-test-server is not installed — run `npm run setup:temporal`');
}
