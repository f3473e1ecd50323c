import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { WardenConfig } from '../config';
import { UserError } from '../errors';
import type { LocalModelFile } from '../model/catalog';
import { resolveLocalModel } from '../model/catalog';
import { MODEL_READY_PATTERN } from '../model/model-server';
import { PROJECT_ROOT } from './temporal-binaries';

/** A `warden model serve` process started by `warden dev`. */
export interface LocalModelProcess {
  /** OpenAI-compatible base URL, e.g. http://127.0.0.1:8790/v1 */
  baseURL: string;
  model: LocalModelFile;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
}

/** Answers the embedded model server generates at once (model-server.ts): the default LLM concurrency on it. */
export const LOCAL_MODEL_SLOTS = 1;

/** True when `warden dev` should run the embedded model: no LLM endpoint or key is configured. */
export function wantsLocalModel(config: WardenConfig): boolean {
  return !config.llm.apiKey && !config.llm.baseURL;
}

/**
 * Starts `warden model serve` as its own process (a crash or a memory spike in llama.cpp never takes the
 * worker down) and resolves once it listens. Its output goes to `<dataDir>/logs/model.log`.
 * @throws UserError when the model is not installed (saying how to install it) or the server does not start.
 */
export async function startLocalModel(config: WardenConfig, timeoutMs = 120_000): Promise<LocalModelProcess> {
  const model = resolveLocalModel({ key: config.localModel.key, explicitPath: config.localModel.path });
  const logFile = path.join(config.dataDir, 'logs', 'model.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, 'bin', 'warden.js'), 'model', 'serve', '--exit-with-stdin'],
    // stdin stays open while this process lives: if `warden dev` dies, even by SIGKILL, the server follows.
    { cwd: process.cwd(), env: process.env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let tail = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve) => {
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4000);
      const m = MODEL_READY_PATTERN.exec(tail);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    })());

  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    ready.then((baseURL) => ({ baseURL })),
    exited.then((code) => ({ exited: code })),
    new Promise<{ timeout: true }>((resolve) => (timer = setTimeout(() => resolve({ timeout: true }), timeoutMs))),
  ]);
  clearTimeout(timer);
  if ('baseURL' in outcome) return { baseURL: outcome.baseURL, model, stop };
  await stop();
  const why = 'exited' in outcome ? `exited with code ${outcome.exited}` : `did not start within ${timeoutMs} ms`;
  throw new UserError(
    `the local model server ${why} (see ${logFile}); last output:\n${tail.trim().split('\n').slice(-5).join('\n')}`,
  );
}
