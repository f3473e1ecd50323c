import { z } from 'zod';
import type { AuditRecord, AuditStore, PublicKeys, VerifyResult } from '../../../audit';
import { verifyStore } from '../../../audit';
import type { CheckResult, EvidenceItem } from '../evidence/model';
import { checkFromSubjects } from '../evidence/model';
import type { Collected, CollectorDeps } from './collector-tool';
import { defineCollector } from './collector-tool';

/*
 * Warden's own controls, from its audit ledger: the ledger verifies (chain, checkpoints); every action
 * policy held for approval ran only after approval.granted, and approvals needing two people had two
 * distinct approvers, neither the run's initiator; the kill switch was drilled (engaged, then released,
 * with a reason naming a drill or test) within the allowed age.
 */

const DRILL = /\b(drill|test|exercise)\b/i;

/** Facts about one approval, gathered from ledger records. */
interface ApprovalFacts {
  workflowId: string;
  approvalId: string;
  required: number;
  tier: number | null;
  requestedSeq: number;
  grantedSeq?: number;
  approvers: string[];
  rejected: boolean;
  executedSeq?: number;
  initiator?: string;
}

/** Builds evidence and checks from a ledger's verification result and its records (seq order). */
export function wardenEvidence(
  verify: VerifyResult,
  records: AuditRecord[],
  opts: { now: Date; drillMaxAgeDays: number },
): Collected {
  const collectedAt = opts.now.toISOString();
  const items: EvidenceItem[] = [];
  const checks: CheckResult[] = [];
  const ledgerItem: EvidenceItem = {
    id: 'warden:ledger:verification',
    source: 'warden',
    kind: 'ledger-verification',
    subject: 'audit ledger',
    collectedAt,
    data: JSON.parse(JSON.stringify(verify)) as never,
  };
  items.push(ledgerItem);
  checks.push(
    checkFromSubjects(
      'warden_audit_ledger_intact',
      'warden',
      [{ evidenceId: ledgerItem.id, subject: 'audit ledger', ok: verify.ok }],
      () =>
        verify.ok
          ? `the audit ledger verifies: ${verify.checked} record(s), ${verify.checkpoints} signed checkpoint(s)`
          : `the audit ledger does not verify: ${verify.reason ?? 'unknown'} (record ${verify.firstBadSeq})`,
    ),
  );

  const initiators = new Map<string, string>();
  const approvals = new Map<string, ApprovalFacts>();
  const key = (w: string, a: string) => `${w}\u0000${a}`;
  for (const r of records) {
    const d = r.data;
    if (r.type === 'run.started' && typeof d.initiator === 'string') initiators.set(r.workflowId, d.initiator);
    if (r.type === 'approval.requested' && typeof d.approvalId === 'string') {
      approvals.set(key(r.workflowId, d.approvalId), {
        workflowId: r.workflowId,
        approvalId: d.approvalId,
        required: typeof d.required === 'number' ? d.required : 1,
        tier: typeof d.tier === 'number' ? d.tier : null,
        requestedSeq: r.seq,
        approvers: [],
        rejected: false,
      });
    }
    const a = typeof d.approvalId === 'string' ? approvals.get(key(r.workflowId, d.approvalId)) : undefined;
    if (a && r.type === 'approval.granted' && Array.isArray(d.approvers)) {
      a.grantedSeq = r.seq;
      a.approvers = d.approvers.filter((x): x is string => typeof x === 'string');
    }
    if (a && r.type === 'approval.rejected') a.rejected = true;
    if (r.type === 'tool.executed' && typeof d.stepId === 'string' && typeof d.callId === 'string') {
      const held = approvals.get(key(r.workflowId, `${d.stepId}.${d.callId}`));
      if (held && held.executedSeq === undefined) held.executedSeq = r.seq;
    }
  }
  const subjects: { evidenceId: string; subject: string; ok: boolean }[] = [];
  for (const a of approvals.values()) {
    a.initiator = initiators.get(a.workflowId) ?? initiators.get(a.workflowId.replace(/--.*$/, ''));
    const problems: string[] = [];
    if (a.executedSeq !== undefined && (a.grantedSeq === undefined || a.grantedSeq > a.executedSeq))
      problems.push('the action ran without a recorded approval');
    if (a.grantedSeq !== undefined) {
      const distinct = new Set(a.approvers);
      if (distinct.size < a.required) problems.push(`needed ${a.required} distinct approvers, had ${distinct.size}`);
      if (a.initiator && distinct.has(a.initiator))
        problems.push(`the initiator ${a.initiator} approved their own run`);
      if ([...distinct].some((x) => x.startsWith('agent:'))) problems.push('an agent approved');
    }
    const item: EvidenceItem = {
      id: `warden:approval:${a.workflowId}/${a.approvalId}`.slice(0, 300),
      source: 'warden',
      kind: 'approval',
      subject: `${a.workflowId} ${a.approvalId}`,
      collectedAt,
      data: { ...a, initiator: a.initiator ?? null, problems },
    };
    items.push(item);
    subjects.push({ evidenceId: item.id, subject: item.subject, ok: problems.length === 0 });
  }
  checks.push(
    checkFromSubjects(
      'warden_approvals_two_person_rule',
      'warden',
      subjects,
      (f, t) =>
        `${t - f} of ${t} approval(s) honoured (separation of duties, two-person rule for their tier); ${f} violated`,
      { status: 'manual', summary: 'no approvals recorded yet: nothing to show the approval rules were honoured' },
    ),
  );

  let engaged: AuditRecord | undefined;
  const drills: EvidenceItem[] = [];
  for (const r of records.filter((x) => x.type === 'kill_switch.changed')) {
    const d = r.data as { engaged?: unknown; reason?: unknown };
    if (d.engaged === true) engaged = r;
    else if (d.engaged === false && engaged) {
      const given = (engaged.data as { reason?: unknown }).reason;
      const reason = typeof given === 'string' ? given : '';
      if (DRILL.test(reason))
        drills.push({
          id: `warden:kill-switch-drill:${engaged.seq}`,
          source: 'warden',
          kind: 'kill-switch-drill',
          subject: `drill at ${engaged.ts}`,
          collectedAt,
          data: {
            engagedAt: engaged.ts,
            engagedBy: engaged.actor.id,
            releasedAt: r.ts,
            releasedBy: r.actor.id,
            reason,
            seqs: [engaged.seq, r.seq],
          },
        });
      engaged = undefined;
    }
  }
  items.push(...drills);
  const cutoff = opts.now.getTime() - opts.drillMaxAgeDays * 86_400_000;
  const recent = drills.filter((d) => Date.parse((d.data as { releasedAt: string }).releasedAt) >= cutoff);
  checks.push({
    checkId: 'warden_kill_switch_drilled',
    source: 'warden',
    status: recent.length ? 'pass' : 'fail',
    summary: recent.length
      ? `${recent.length} kill-switch drill(s) in the last ${opts.drillMaxAgeDays} days (engaged and released)`
      : `no kill-switch drill in the last ${opts.drillMaxAgeDays} days: engage and release it with a reason naming the drill`,
    passed: recent.length ? 1 : 0,
    failed: recent.length ? 0 : 1,
    total: 1,
    evidenceIds: recent.map((d) => d.id),
    failing: recent.length ? [] : ['kill switch'],
  });
  return { items, checks };
}

/** Reads every record of a store, in seq order. */
async function allRecords(store: AuditStore): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const batch of store.scan(1000)) out.push(...batch);
  return out;
}

/** `compliance_collect_warden`: Warden's own ledger as evidence. */
export function createWardenCollector(
  cfg: { drillMaxAgeDays: number; publicKeys: () => PublicKeys },
  deps: CollectorDeps,
) {
  return defineCollector(
    {
      name: 'compliance_collect_warden',
      description:
        "Verifies Warden's audit ledger and reads from it whether approvals and kill-switch drills were honoured.",
      source: 'warden',
      input: z.object({}).strict(),
      capabilities: [],
      summarize: () => 'warden: verify ledger, approvals, kill-switch drills',
      async collect(_args, ctx, now) {
        const ledger = await deps.ledger();
        const verify = await verifyStore(ledger.store, cfg.publicKeys());
        ctx.heartbeat({ verified: verify.checked });
        return wardenEvidence(verify, await allRecords(ledger.store), { now, drillMaxAgeDays: cfg.drillMaxAgeDays });
      },
    },
    deps,
  );
}
