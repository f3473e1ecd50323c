import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Project root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** What a CLI invocation produced. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let keysDir: string | undefined;
/** A keys directory of this test process's own, so no CLI test reads or writes the user's ~/.config. */
export function isolatedKeysDir(): string {
  keysDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'warden-cli-keys-'));
  return keysDir;
}

/**
 * Runs the real `warden` binary (bin/warden.js → dist/) as a user would, with a clean environment plus
 * `env`. dist/ is built by `npm test` before jest runs.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'warden.js'), ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        WARDEN_KEYS_DIR: isolatedKeysDir(),
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`warden ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}
