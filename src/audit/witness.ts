import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors';
import type { AuditCheckpoint } from './checkpoints';
import * as witnessFile from './threads/witness-file';

/**
 * Appends checkpoints to the witness, outside the database: one JSON line each, written with one
 * `write` in append mode and flushed to disk before returning. Call it after the checkpoint's database
 * transaction committed, so the witness never holds a checkpoint the ledger lacks (a crash in between
 * leaves the witness one checkpoint short, which verification tolerates).
 *
 * @throws Error when the directory cannot be created or written (the caller logs it; the checkpoint
 *   itself is already in the ledger).
 */
export const appendToWitness: (dir: string, checkpoints: readonly AuditCheckpoint[]) => void =
  witnessFile.appendToWitness;

/**
 * The witness file this host appends to inside a witness dir: one per host, so a fleet can share one
 * directory (a network mount) without two hosts writing one file.
 */
export const witnessFileName: (host?: string) => string = witnessFile.witnessFileName;

/** One witnessed checkpoint and where it was read from (for messages). */
export interface WitnessEntry {
  /** The parsed line, unvalidated: verification judges it. */
  checkpoint: unknown;
  /** `file:line`. */
  where: string;
}

/**
 * Reads witness checkpoints from files or directories (every `*.ndjson` file inside a directory).
 * Lines are returned unvalidated; a line that is not JSON comes back as its text, so verification
 * reports it. A last line without its newline (a write cut short by a crash) is skipped.
 *
 * @throws UserError when a path does not exist or cannot be read.
 */
export function readWitness(paths: readonly string[]): WitnessEntry[] {
  const entries: WitnessEntry[] = [];
  for (const p of paths) {
    let files: string[];
    try {
      files = fs.statSync(p).isDirectory()
        ? fs
            .readdirSync(p)
            .filter((f) => f.endsWith('.ndjson'))
            .sort()
            .map((f) => path.join(p, f))
        : [p];
    } catch (err) {
      throw new UserError(`cannot read the witness ${p} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    for (const file of files) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        throw new UserError(`cannot read the witness ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      const lines = text.split('\n');
      lines.pop(); // '' after the final newline, or a torn last line
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        let checkpoint: unknown;
        try {
          checkpoint = JSON.parse(line);
        } catch {
          checkpoint = line;
        }
        entries.push({ checkpoint, where: `${file}:${i + 1}` });
      });
    }
  }
  return entries;
}
