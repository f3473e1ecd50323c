import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/*
 * File primitives for key and vault files: owner-only permissions, atomic replacement (a reader sees the
 * old file or the new one, never half of one), and a lock so two writers cannot lose each other's update.
 */

/** Owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Replaces `file` atomically: writes a temp file (mode 0600) next to it, fsyncs, renames over, fsyncs the
 * directory. Creates the directory (0700) when missing.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', PRIVATE_FILE_MODE);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.chmodSync(tmp, PRIVATE_FILE_MODE);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some filesystems cannot fsync a directory; the rename itself is still atomic.
  }
}

/**
 * Creates `file` holding `data` only if it does not exist yet: the content is written to a temp file
 * (0600) and hard-linked into place, so the file appears complete or not at all.
 * @returns false when another process created it first.
 */
export function createFileExclusive(file: string, data: string): boolean {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  fs.writeFileSync(tmp, data, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** True when group or others may read or write the file (it should be 0600). */
export function isLooselyPermitted(file: string): boolean {
  try {
    return (fs.statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fn` holding an exclusive lock file `<file>.lock`. A lock older than `staleMs` (a crashed writer)
 * is broken.
 * @throws Error naming the lock file when it cannot be taken within `timeoutMs`.
 */
export async function withFileLock<T>(
  file: string,
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; staleMs?: number } = {},
): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    if (createFileExclusive(lock, `${process.pid}\n`)) break;
    try {
      if (Date.now() - fs.statSync(lock).mtimeMs > (opts.staleMs ?? 30_000)) fs.rmSync(lock, { force: true });
    } catch {
      // released meanwhile
    }
    if (Date.now() > deadline) {
      throw new Error(`${lock} is held by another process — wait for it, or remove the file if no Warden is running`);
    }
    await sleep(25);
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/**
 * True when a key file's mode lets group or others read it. Files under /run/secrets are exempt: a
 * container runtime mounts its secrets there and controls who reaches them (often mode 0444 inside).
 */
export function isReadableByOthers(file: string): boolean {
  if (process.platform === 'win32' || file.startsWith('/run/secrets/')) return false;
  return (fs.statSync(file).mode & 0o077) !== 0;
}
