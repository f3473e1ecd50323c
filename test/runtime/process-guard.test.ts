import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandLine, reapOrphan } from '../../src/runtime/process-guard';
import { ROOT } from '../harness/cli';
import { waitFor } from '../harness/wait';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A long-lived process whose command line carries `marker` (as a Temporal server carries its db file). */
function sleeper(marker: string): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], {
    stdio: 'ignore',
    detached: true,
  });
  child.unref();
  return child.pid!;
}

describe('process guard: the embedded Temporal server never outlives warden dev', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-guard-'));
  });

  it('stops the guarded child when its parent is killed with SIGKILL', async () => {
    const marker = path.join(dir, 'child.marker');
    const pidFile = path.join(dir, 'guard.pid');
    // A parent (standing in for `warden dev`) that starts a guarded child, then waits to be killed.
    const script = `
      const { spawnGuarded } = require(${JSON.stringify(path.join(ROOT, 'dist', 'runtime', 'process-guard.js'))});
      spawnGuarded(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ${JSON.stringify(marker)}], { pidFile: ${JSON.stringify(pidFile)}, stdio: 'ignore' });
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    const rec = await waitFor(
      async () =>
        fs.existsSync(pidFile) ? (JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { childPid: number }) : undefined,
      (r) => r !== undefined,
      20_000,
    );
    expect(commandLine(rec!.childPid)).toContain(marker);
    parent.kill('SIGKILL');
    await waitFor(
      async () => alive(rec!.childPid),
      (a) => !a,
      15_000,
    );
    expect(fs.existsSync(pidFile)).toBe(false); // the watchdog cleaned up after its child
  });

  it('reaps an orphan recorded by a dead owner, and only if its command line is still ours', async () => {
    const dbFile = path.join(dir, 'temporal.db');
    const pidFile = `${dbFile}.pid`;
    const orphan = sleeper(dbFile);
    const stranger = sleeper(path.join(dir, 'someone-else.db'));
    try {
      // The owner and watchdog are long gone (pid 2^22-1 is never a live process here).
      const gone = 4_194_303;
      fs.writeFileSync(pidFile, JSON.stringify({ ownerPid: gone, watcherPid: gone, childPid: orphan, command: 'x' }));
      await waitFor(
        async () => commandLine(orphan)?.includes(dbFile),
        (ok) => ok === true,
        10_000,
      );
      expect(await reapOrphan(pidFile, dbFile)).toEqual([orphan]);
      expect(alive(orphan)).toBe(false);
      expect(fs.existsSync(pidFile)).toBe(false);

      // A recycled pid now used by another program is left alone.
      fs.writeFileSync(pidFile, JSON.stringify({ ownerPid: gone, watcherPid: gone, childPid: stranger, command: 'x' }));
      expect(await reapOrphan(pidFile, dbFile)).toEqual([]);
      expect(alive(stranger)).toBe(true);
    } finally {
      for (const pid of [orphan, stranger]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('refuses to start beside a live owner using the same data directory', async () => {
    const dbFile = path.join(dir, 'temporal.db');
    const pidFile = `${dbFile}.pid`;
    const watcher = sleeper(dbFile);
    try {
      fs.writeFileSync(pidFile, JSON.stringify({ ownerPid: process.ppid, watcherPid: watcher, childPid: watcher }));
      await waitFor(
        async () => commandLine(watcher)?.includes(dbFile),
        (ok) => ok === true,
        10_000,
      );
      await expect(reapOrphan(pidFile, dbFile)).rejects.toThrow(/another Warden process .* is running Temporal/);
      expect(alive(watcher)).toBe(true);
    } finally {
      process.kill(watcher, 'SIGKILL');
    }
  });
});
