import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RawRecordRow } from './threads/row-hash';

/** Worker threads for verification on this machine: the cores but one (the reader), at least one. */
export function defaultVerifyThreads(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

/** Threads that each read and verify a seq range of a SQLite ledger: every core (the main thread waits). */
export function defaultRangeThreads(): number {
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

/**
 * Worker threads that recompute leaf hashes of row batches (threads/verify-hasher.js), so reading rows
 * and checking the chain on the main thread overlaps with hashing. Batches are handed out round-robin;
 * results come back per batch. Close it when done.
 */
export class HashPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: (f: Uint8Array) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private turn = 0;

  constructor(size: number) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => {
      const w = new Worker(path.join(__dirname, 'threads', 'verify-hasher.js'));
      w.on('message', (m: { id: number; flags: Uint8Array }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m.flags);
      });
      w.on('error', (err) => this.failAll(err));
      return w;
    });
  }

  /** For each row, 1 when its stored leaf hash matches its columns (see row-hash.js). */
  check(rows: RawRecordRow[]): Promise<Uint8Array> {
    const id = this.nextId++;
    const w = this.workers[this.turn++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, rows });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(err);
    }
  }
}
