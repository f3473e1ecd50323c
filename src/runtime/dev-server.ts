import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { UserError } from '../errors';
import { reapOrphan, spawnGuarded } from './process-guard';

/** Options for {@link startDevServer}. */
export interface DevServerOptions {
  /** Temporal CLI binary (see resolveTemporalCli). */
  cliPath: string;
  ip?: string;
  /** gRPC port; 0 picks a free one. */
  port: number;
  /** Web UI port; 0 picks a free one. Ignored when headless. */
  uiPort: number;
  headless?: boolean;
  /** SQLite file for durable state; omitted = in memory (tests). A Temporal server an earlier, killed
   * owner left running on this file is stopped first (see reapOrphan; `<dbFile>.pid` records it). */
  dbFile?: string;
  /** Server stdout/stderr go here (appended); omitted = kept only as a tail for error messages. */
  logFile?: string;
  /** How long to wait for the frontend to answer. @default 60000 (a loaded 2-core machine needs more than the SDK's 5 s) */
  startTimeoutMs?: number;
  /** UI codec endpoint, wired when payload encryption is on. */
  uiCodecEndpoint?: string;
  /** Told the pids of an orphaned server (left by a killed earlier owner) that was stopped before starting. */
  onOrphanReaped?: (pids: number[]) => void;
}

/** A running embedded Temporal server. */
export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after `graceMs`) and resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Returns a free TCP port on the given interface. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** True when something already listens on host:port. */
export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Starts `temporal server start-dev` as a child process and waits until its frontend answers. The server
 * runs under a watchdog (spawnGuarded), so it stops whenever this process dies, `kill -9` included.
 * @throws UserError when a port is taken, the binary fails, or the server does not come up in time.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const pidFile = opts.dbFile ? `${opts.dbFile}.pid` : undefined;
  if (opts.dbFile && pidFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    const reaped = await reapOrphan(pidFile, opts.dbFile);
    if (reaped.length) opts.onOrphanReaped?.(reaped);
  }
  const port = opts.port || (await freePort(ip));
  const uiPort = opts.headless ? undefined : opts.uiPort || (await freePort(ip));
  for (const [what, p] of [
    ['gRPC', port],
    ['Web UI', uiPort],
  ] as const) {
    if (p && (await portInUse(p, ip))) {
      throw new UserError(
        `port ${p} (${what}) on ${ip} is already in use — is another \`warden dev\` or Temporal server running? ` +
          `Stop it, point TEMPORAL_ADDRESS at it, or choose other ports (WARDEN_TEMPORAL_PORT / WARDEN_UI_PORT)`,
      );
    }
  }
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', 'warn'];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);

  const child = spawnGuarded(opts.cliPath, args, pidFile ? { pidFile } : {});
  const tail: string[] = [];
  const logStream = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const collect = (chunk: Buffer) => {
    logStream?.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) tail.push(line);
    while (tail.length > 20) tail.shift();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const address = `${ip}:${port}`;
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, graceMs))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      }
    }
    logStream?.end();
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (spawnError || child.exitCode !== null) {
      await stop();
      throw new UserError(
        `the Temporal dev server (${opts.cliPath}) exited during startup${spawnError ? `: ${spawnError.message}` : ''}` +
          (tail.length ? `\n${tail.slice(-8).join('\n')}` : ''),
      );
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await conn.workflowService.describeNamespace({ namespace: 'default' });
        break;
      } finally {
        await conn.close();
      }
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new UserError(
          `the Temporal dev server did not answer on ${address} within ${opts.startTimeoutMs ?? 60_000} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: uiPort ? `http://${ip === '0.0.0.0' ? '127.0.0.1' : ip}:${uiPort}` : undefined,
    pid: child.pid ?? -1,
    stop,
  };
}
