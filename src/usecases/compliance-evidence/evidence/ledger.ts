import fs from 'node:fs';
import path from 'node:path';
import type { AuditLedger, AuditRecord, AuditStore, PublicKeys, VerifyResult } from '../../../audit';
import { verifyStore } from '../../../audit';
import type { EvidenceBundle } from './model';
import { evidenceHash } from './model';
import type { CallRef, EvidenceStore } from './store';
import { sha256File } from './store';

/*
 * Evidence hashes in the audit ledger. Each collector call appends `compliance.evidence` records listing
 * every item's sha256 (in chunks that fit a record), each report `compliance.report` with its files'
 * hashes. Keys derive from the call's idempotency key, so a retried activity appends nothing new.
 * Verification recomputes every hash from the stored files and checks the ledger chain itself.
 */

/** Items per `compliance.evidence` record: ids and hashes stay well under the 64 KiB record limit. */
const ITEMS_PER_RECORD = 200;
const ACTOR = { kind: 'system', id: 'warden' } as const;

/** Appends the hashes of a bundle's items; returns the records' sequence numbers. */
export async function recordEvidenceHashes(
  ledger: AuditLedger,
  ref: CallRef,
  bundle: EvidenceBundle,
  bundle_: { name: string; sha256: string },
): Promise<number[]> {
  const pairs = bundle.items.map((i) => [i.id, evidenceHash(i)] as [string, string]);
  const chunks = Math.max(1, Math.ceil(pairs.length / ITEMS_PER_RECORD));
  const seqs: number[] = [];
  for (let c = 0; c < chunks; c++) {
    const rec = await ledger.append({
      idempotencyKey: `${ref.workflowId}/${ref.stepId}/${ref.callId}/evidence/${c}`,
      workflowId: ref.workflowId,
      type: 'compliance.evidence',
      actor: ACTOR,
      data: {
        source: bundle.source,
        stepId: ref.stepId,
        callId: ref.callId,
        bundle: bundle_.name,
        bundleSha256: bundle_.sha256,
        collectedAt: bundle.collectedAt,
        chunk: c,
        chunks,
        items: pairs.slice(c * ITEMS_PER_RECORD, (c + 1) * ITEMS_PER_RECORD),
      },
    });
    seqs.push(rec.seq);
  }
  return seqs;
}

/** Appends one record about a run's compliance output (report files, drift), exactly once per key. */
export async function recordRunFact(
  ledger: AuditLedger,
  ref: CallRef,
  type: 'compliance.report' | 'compliance.drift' | 'compliance.assessment',
  data: Record<string, unknown>,
): Promise<number> {
  const rec = await ledger.append({
    idempotencyKey: `${ref.workflowId}/${ref.stepId}/${ref.callId}/${type}`,
    workflowId: ref.workflowId,
    type,
    actor: ACTOR,
    data: JSON.parse(JSON.stringify(data)) as Record<string, never>,
  });
  return rec.seq;
}

/** A run's ledger records of one type, in order. */
export async function runRecords(store: AuditStore, workflowId: string, type?: string): Promise<AuditRecord[]> {
  const all = await store.list({ workflowId, limit: 100_000 });
  return type ? all.filter((r) => r.type === type) : all;
}

/** What `verify-evidence` found. */
export interface EvidenceVerification {
  ok: boolean;
  ledger: VerifyResult;
  /** Evidence items whose hash was recomputed and matched. */
  itemsVerified: number;
  filesVerified: number;
  /** Every problem, one sentence each (what, where). */
  problems: string[];
}

/**
 * Verifies a run's evidence: the ledger chain and checkpoints, then every evidence item and report file
 * against the hashes the ledger recorded when they were collected or written.
 */
export async function verifyRunEvidence(
  store: AuditStore,
  evidence: EvidenceStore,
  workflowId: string,
  publicKeys: PublicKeys,
): Promise<EvidenceVerification> {
  const ledger = await verifyStore(store, publicKeys);
  const problems: string[] = [];
  if (!ledger.ok)
    problems.push(`audit ledger: ${ledger.reason ?? 'verification failed'} (first bad record ${ledger.firstBadSeq})`);
  const records = await runRecords(store, workflowId);
  const byBundle = new Map<string, { sha256: string; items: Map<string, string> }>();
  for (const r of records.filter((x) => x.type === 'compliance.evidence')) {
    const d = r.data as { bundle: string; bundleSha256: string; items: [string, string][] };
    const entry = byBundle.get(d.bundle) ?? { sha256: d.bundleSha256, items: new Map<string, string>() };
    for (const [id, h] of d.items) entry.items.set(id, h);
    byBundle.set(d.bundle, entry);
  }
  if (!byBundle.size) problems.push(`no evidence of run ${workflowId} is recorded in the audit ledger`);
  let itemsVerified = 0;
  for (const [name, want] of byBundle) {
    let bundle: EvidenceBundle;
    try {
      bundle = evidence.readBundle(workflowId, name);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    const seen = new Set<string>();
    for (const item of bundle.items) {
      seen.add(item.id);
      const recorded = want.items.get(item.id);
      if (!recorded) problems.push(`evidence item ${item.id} (${name}) is not in the ledger: added after collection`);
      else if (recorded !== evidenceHash(item))
        problems.push(
          `evidence item ${item.id} (${name}) was altered after collection: its hash differs from the ledger's`,
        );
      else itemsVerified++;
    }
    for (const id of want.items.keys())
      if (!seen.has(id))
        problems.push(`evidence item ${id} (${name}) recorded in the ledger is missing from the store`);
  }
  let filesVerified = 0;
  for (const r of records.filter((x) => x.type === 'compliance.report')) {
    const files = (r.data as { files?: Record<string, string> }).files ?? {};
    for (const [rel, sha] of Object.entries(files)) {
      const file = path.join(evidence.runDir(workflowId), rel);
      if (!fs.existsSync(file)) problems.push(`report file ${rel} recorded in the ledger is missing`);
      else if (sha256File(file) !== sha) problems.push(`report file ${rel} was altered after it was written`);
      else filesVerified++;
    }
  }
  return { ok: problems.length === 0, ledger, itemsVerified, filesVerified, problems };
}
