import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import { UserError } from '../errors';

/**
 * A tiny watchdog run as `node -e`: it starts the real command, forwards SIGTERM/SIGINT to it, and kills it
 * when its own stdin closes — which happens however its parent dies, `kill -9` included (the kernel closes
 * the pipe). With WARDEN_GUARD_PID_FILE set it records {owner, watcher, child} there while the child runs,
 * so a later start can find an orphan if the watchdog itself was killed too.
 * Inline (not a file) so it works the same from dist/ and from ts-jest.
 */
const WATCHDOG = `
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const [cmd, ...args] = process.argv.slice(1);
const pidFile = process.env.WARDEN_GUARD_PID_FILE;
const owner = process.ppid;
let child;
try {
  child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (e) { console.error(String(e)); process.exit(127); }
child.once('error', (e) => { console.error('cannot start ' + cmd + ': ' + e.message); process.exit(127); });
if (pidFile && child.pid) {
  // Written whole, then renamed into place: a reader never sees a half-written record.
  try { const tmp = pidFile + '.' + process.pid + '.tmp'; fs.writeFileSync(tmp, JSON.stringify({ ownerPid: owner, watcherPid: process.pid, childPid: child.pid, command: cmd }), { mode: 0o600 }); fs.renameSync(tmp, pidFile); } catch {}
}
let killing = false;
const stop = (sig) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try { child.kill(sig); } catch {}
  if (!killing) { killing = true; setTimeout(() => { try { child.kill('SIGKILL'); } catch {} }, 10000).unref(); }
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGTERM'));
process.stdin.on('end', () => stop('SIGTERM'));
process.stdin.on('close', () => stop('SIGTERM'));
process.stdin.on('error', () => stop('SIGTERM'));
process.stdin.resume();
child.once('exit', (code, signal) => {
  if (pidFile) { try { const r = JSON.parse(fs.readFileSync(pidFile, 'utf8')); if (r.watcherPid === process.pid) fs.unlinkSync(pidFile); } catch {} }
  process.exit(code === null ? (signal ? 128 : 1) : code);
});
`;

/** Options for {@link spawnGuarded}. */
export interface GuardedSpawnOptions {
  /** Where the watchdog records the pids while the child runs (see {@link reapOrphan}). */
  pidFile?: string;
  /** stdout/stderr handling for the child (stdin is the watchdog's lifeline and always a pipe). */
  stdio?: 'pipe' | 'ignore';
  env?: NodeJS.ProcessEnv;
}

/**
 * Spawns `command` under a watchdog that dies with this process: the child is stopped (SIGTERM, then
 * SIGKILL after 10 s) when this process exits for any reason, `kill -9` included. Signals sent to the
 * returned process reach the child; the returned process exits with the child's code.
 */
export function spawnGuarded(command: string, args: string[], opts: GuardedSpawnOptions = {}): ChildProcess {
  const out = opts.stdio ?? 'pipe';
  const spawnOpts: SpawnOptions = {
    stdio: ['pipe', out, out],
    env: { ...(opts.env ?? process.env), ...(opts.pidFile ? { WARDEN_GUARD_PID_FILE: opts.pidFile } : {}) },
  };
  const child = spawn(process.execPath, ['-e', WATCHDOG, command, ...args], spawnOpts);
  // The pipe stays open for this process's life; it must not keep the event loop alive on its own.
  const stdin = child.stdin as Socket | null;
  stdin?.on('error', () => undefined);
  stdin?.unref();
  return child;
}

/** What the watchdog recorded. */
interface GuardRecord {
  ownerPid: number;
  watcherPid: number;
  childPid: number;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's command line (Linux /proc); undefined when it cannot be read (gone, or no /proc). */
export function commandLine(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

/**
 * Stops what an earlier, dead owner left running under {@link spawnGuarded}: reads `pidFile`, and when its
 * owner is gone, stops the watchdog and the child — but only a process whose command line still carries
 * `marker` (e.g. our own SQLite file), so a recycled pid that now belongs to someone else is never touched.
 * Resolves with the pids it stopped.
 * @throws UserError when the owner is still alive (another instance is using the same data directory).
 */
export async function reapOrphan(pidFile: string, marker: string): Promise<number[]> {
  let rec: GuardRecord;
  try {
    rec = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as GuardRecord;
  } catch {
    return [];
  }
  const ours = (pid: number) =>
    Boolean(pid) && pid !== process.pid && commandLine(pid)?.some((a) => a.includes(marker));
  if (rec.ownerPid !== process.pid && alive(rec.ownerPid) && alive(rec.watcherPid) && ours(rec.watcherPid)) {
    throw new UserError(
      `another Warden process (pid ${rec.ownerPid}) is running Temporal on ${marker} — stop it first, or use another WARDEN_DATA_DIR`,
    );
  }
  const stopped: number[] = [];
  for (const pid of [rec.watcherPid, rec.childPid]) {
    if (!alive(pid) || !ours(pid)) continue;
    process.kill(pid, 'SIGTERM');
    if (!(await waitGone(pid, 10_000))) {
      process.kill(pid, 'SIGKILL');
      await waitGone(pid, 5_000);
    }
    stopped.push(pid);
  }
  fs.rmSync(pidFile, { force: true });
  return stopped;
}
