import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EvidenceBundle, evidenceHash } from './model';

/*
 * The evidence store: files under WARDEN_COMPLIANCE_EVIDENCE_DIR (a shared volume for a fleet).
 *   runs/<workflowId>/evidence/<step>-<call>.json   bundles, written once
 *   runs/<workflowId>/assessment.json               the scored assessment (after the report step)
 *   runs/<workflowId>/report/…                       OSCAL JSON, HTML, PDF
 *   events/drift.ndjson                              drift events, one per line
 * Hashes of everything written go to the audit ledger; files are written atomically (temp + rename).
 */

/** Where a tool call belongs: parsed from its idempotency key `<workflowId>/<stepId>/<callId>`. */
export interface CallRef {
  workflowId: string;
  stepId: string;
  callId: string;
}

/** Parses a tool call's idempotency key (set by the tool activity, never by a caller). */
export function callRef(idempotencyKey: string): CallRef {
  const parts = idempotencyKey.split('/');
  if (parts.length < 3) throw new Error(`unexpected idempotency key "${idempotencyKey}" (a Warden defect)`);
  const callId = parts.pop()!;
  const stepId = parts.pop()!;
  return { workflowId: parts.join('/'), stepId, callId };
}

/** Writes a file atomically: readers see the old file or the whole new one, never half of it. */
export function writeAtomic(file: string, data: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o640 });
  fs.renameSync(tmp, file);
}

/** The evidence store rooted at one folder. */
export class EvidenceStore {
  constructor(readonly root: string) {}

  /** The folder of one run. */
  runDir(workflowId: string): string {
    return path.join(this.root, 'runs', encodeURIComponent(workflowId));
  }

  /** File name of a call's bundle. */
  static bundleName(ref: CallRef): string {
    return `${ref.stepId.replace(/[^a-z0-9_-]/g, '_')}-${ref.callId.replace(/[^a-z0-9_-]/g, '_')}.json`;
  }

  /** Path of a bundle; refuses names that are not plain bundle names (no traversal). */
  bundlePath(workflowId: string, name: string): string {
    if (!/^[a-z0-9_-]+\.json$/.test(name)) throw new Error(`"${name}" is not an evidence bundle name`);
    return path.join(this.runDir(workflowId), 'evidence', name);
  }

  /** The bundle a previous attempt of this call stored, if any (a retry reuses it: the ledger already has its hashes). */
  existingBundle(ref: CallRef): EvidenceBundle | undefined {
    const file = this.bundlePath(ref.workflowId, EvidenceStore.bundleName(ref));
    if (!fs.existsSync(file)) return undefined;
    return EvidenceBundle.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  }

  /** Stores a bundle (once per call) and returns its name and hash. */
  writeBundle(bundle: EvidenceBundle): { name: string; sha256: string } {
    const name = EvidenceStore.bundleName(bundle);
    writeAtomic(this.bundlePath(bundle.workflowId, name), JSON.stringify(bundle));
    return { name, sha256: evidenceHash(bundle) };
  }

  /**
   * Reads a bundle and checks it against the hash the collector reported.
   * @throws Error when it is missing, malformed, or its hash differs (altered after collection).
   */
  readBundle(workflowId: string, name: string, sha256?: string): EvidenceBundle {
    const file = this.bundlePath(workflowId, name);
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`evidence bundle ${name} of ${workflowId} cannot be read: ${(err as Error).message}`);
    }
    const bundle = EvidenceBundle.parse(raw);
    if (sha256 !== undefined && evidenceHash(bundle) !== sha256)
      throw new Error(`evidence bundle ${name} of ${workflowId} was altered after collection (hash mismatch)`);
    if (bundle.workflowId !== workflowId) throw new Error(`evidence bundle ${name} belongs to another run`);
    return bundle;
  }

  /** Every bundle of a run, by file name. */
  listBundles(workflowId: string): string[] {
    const dir = path.join(this.runDir(workflowId), 'evidence');
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => /^[a-z0-9_-]+\.json$/.test(f))
      .sort();
  }

  /** Writes a JSON document of a run (assessment, report files) and returns its sha256. */
  writeRunFile(workflowId: string, relative: string, data: string | Buffer): { path: string; sha256: string } {
    const file = path.join(this.runDir(workflowId), relative);
    writeAtomic(file, data);
    return { path: file, sha256: sha256File(file) };
  }

  /** Reads a run's JSON document, or undefined when absent. */
  readRunJson<T>(workflowId: string, relative: string): T | undefined {
    const file = path.join(this.runDir(workflowId), relative);
    if (!fs.existsSync(file)) return undefined;
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  }

  /** Run ids that have a scored assessment, oldest first by completion time. */
  assessedRuns(): { workflowId: string; completedAt: string }[] {
    const dir = path.join(this.root, 'runs');
    if (!fs.existsSync(dir)) return [];
    const out: { workflowId: string; completedAt: string }[] = [];
    for (const d of fs.readdirSync(dir)) {
      const file = path.join(dir, d, 'assessment.json');
      if (!fs.existsSync(file)) continue;
      try {
        const a = JSON.parse(fs.readFileSync(file, 'utf8')) as { completedAt?: string };
        out.push({ workflowId: decodeURIComponent(d), completedAt: a.completedAt ?? '' });
      } catch {
        // a half-written or foreign file is not a run
      }
    }
    return out.sort((a, b) => a.completedAt.localeCompare(b.completedAt) || a.workflowId.localeCompare(b.workflowId));
  }

  /** Appends one line to an NDJSON event file. */
  appendEvent(name: string, event: unknown): string {
    const file = path.join(this.root, 'events', `${name}.ndjson`);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    fs.appendFileSync(file, `${JSON.stringify(event)}\n`, { mode: 0o640 });
    return file;
  }
}

/** sha256 (hex) of a file's bytes. */
export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
