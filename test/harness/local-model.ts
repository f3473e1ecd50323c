import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { INSTALL_HINT, LLAMA_DIR, resolveLocalModel } from '../../src/model/catalog';
import { MODEL_READY_PATTERN } from '../../src/model/model-server';
import { DEFAULT_LOCAL_MODEL } from '../../src/model/catalog';
import { ROOT } from './cli';

/** A running `warden model serve` process. */
export interface LocalModelServer {
  /** OpenAI-compatible base URL (…/v1). */
  baseURL: string;
  /** The model id it reports. */
  modelId: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the real `warden model serve` (bin/warden.js → dist/, built by `npm test`) on a free loopback port.
 * Tests cannot load node-llama-cpp inside Jest's sandbox (it is ESM-only), so the server is its own process —
 * as it is under `warden dev`.
 * @throws Error saying how to install the model when it is missing: these tests fail, never skip, because CI
 *   installs the model through `npm ci` → prepare → scripts/setup-model.sh.
 */
export async function startLocalModelServer(env: Record<string, string> = {}): Promise<LocalModelServer> {
  let modelId: string;
  try {
    modelId = resolveLocalModel({ key: DEFAULT_LOCAL_MODEL }).id;
    if (!fs.existsSync(path.join(LLAMA_DIR, 'node_modules', 'node-llama-cpp')))
      throw new Error(`node-llama-cpp is not installed in ${LLAMA_DIR} — ${INSTALL_HINT}`);
  } catch (err) {
    throw new Error(`the local-model tests need the embedded model: ${(err as Error).message}`);
  }
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'warden.js'), 'model', 'serve', '--port', '0'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WARDEN_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const baseURL = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warden model serve did not start in 90 s:\n${out}`)), 90_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = MODEL_READY_PATTERN.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`warden model serve exited (${code}) during startup:\n${out}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    baseURL,
    modelId,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
