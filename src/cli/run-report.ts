import type { RunReport } from '../client';
import type { PendingApproval } from '../governance/approvals';
import { mayDecide } from '../governance/approvals';
import { targetLabel } from '../governance/approval-evidence';
import { neutralizeUntrusted, showUntrusted } from '../governance/untrusted';
import { approveCommand } from '../activities/notify';
import type { RunState, StepRecord } from '../workflows/engine/state';

/*
 * How `warden status` and `warden approvals` show a run and what it waits for. Anything that came from an
 * alert, a tool or a model (titles, details, targets, tool errors) is neutralised and, where it is free
 * text, marked untrusted: an approver must be able to tell Warden's words from an attacker's.
 */

/** A pending approval with what an approver needs computed: approvals still needed, time left, what follows. */
export type PendingApprovalView = PendingApproval & {
  /** Approvals still needed before the action is unlocked. */
  needed: number;
  /** Milliseconds until the current stage times out (0 when overdue). */
  timeLeftMs: number;
  /** What happens when the stage times out: `escalates to <groups>` or `denied`. */
  onTimeout: string;
  /** Who may decide now: the eligible approvers except the run's initiator and those who already approved. */
  mayDecide: string[];
};

/** Adds the computed fields of {@link PendingApprovalView}. */
export function viewOf(p: PendingApproval, nowMs = Date.now()): PendingApprovalView {
  const next = p.stages[p.stage + 1];
  return {
    ...p,
    needed: Math.max(0, p.required - p.approvals.length),
    timeLeftMs: Math.max(0, Date.parse(p.stageDeadline) - nowMs),
    onTimeout: next ? `escalates to ${next.groups.join(', ')}` : 'denied (the action does not run)',
    mayDecide: mayDecide(p),
  };
}

/** `1h 5m`, `3m 20s`, `45s`. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

const indent = (lines: string[], by = '  ') => lines.map((l) => `${by}${l}`);

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(12)}${label.length >= 11 ? ' ' : ''}${value}`;
}

/** An approval step's details: one line per top-level field (at most 20), each value fenced as untrusted. */
export function detailLines(details: unknown): string[] {
  if (details === undefined || details === null) return [];
  if (typeof details !== 'object' || Array.isArray(details)) return [field('details', showUntrusted(details, 800))];
  const entries = Object.entries(details as Record<string, unknown>);
  const lines = entries
    .slice(0, 20)
    .map(([k, v]) => field(`details.${neutralizeUntrusted(k, 40)}`.slice(0, 40), showUntrusted(v ?? null, 500)));
  if (entries.length > 20) lines.push(field('details', `…and ${entries.length - 20} more fields (see --json)`));
  return lines;
}

/** The evidence of one pending approval, one field a line. */
export function approvalLines(p: PendingApproval, nowMs = Date.now()): string[] {
  const v = viewOf(p, nowMs);
  const stage = p.stages[p.stage];
  const lines = [`${p.workflowId}  ${p.approvalId}`];
  const body: string[] = [];
  if (p.tool) {
    body.push(field('action', neutralizeUntrusted(p.action)));
  } else {
    body.push(field('approval', `playbook approval step ${p.stepId}`));
    if (p.title !== undefined) body.push(field('title', showUntrusted(p.title)));
  }
  for (const t of p.targets ?? []) body.push(field('target', showUntrusted(targetLabel(t), 200)));
  if (p.tool && p.args !== undefined) body.push(field('arguments', showUntrusted(p.args, 500)));
  body.push(...detailLines(p.details));
  const rule = p.ruleId ?? '(not recorded)';
  // An approval step's reason is its title (already shown, and untrusted).
  body.push(field('policy', rule === 'approval-step' ? 'approval step of the playbook' : `${rule}: ${p.reason}`));
  body.push(
    field(
      'tier',
      `${p.tier}: ${p.approvals.length} of ${p.required} approval${p.required > 1 ? 's' : ''}, ${v.needed} more needed`,
    ),
  );
  body.push(
    field(
      'approvers',
      `${v.mayDecide.join(', ') || '(nobody eligible is left)'} (${stage?.groups.join(', ') ?? '-'}, stage ${p.stage + 1} of ${p.stages.length})`,
    ),
  );
  for (const a of p.approvals)
    body.push(
      field('approved', `${a.approver} at ${a.at}${a.reason ? `: ${neutralizeUntrusted(a.reason, 200)}` : ''}`),
    );
  if (p.initiator) body.push(field('initiator', `${p.initiator} (may not decide)`));
  if (p.unlocks) body.push(field('unlocks', neutralizeUntrusted(p.unlocks)));
  body.push(field('time left', `${duration(v.timeLeftMs)} (until ${p.stageDeadline}), then ${v.onTimeout}`));
  body.push(field('decide', approveCommand(p)));
  return [...lines, ...indent(body)];
}

function approvalNote(s: StepRecord): string | undefined {
  const a = s.approval;
  if (!a) return undefined;
  switch (a.status) {
    case 'approved': {
      const who = (a.votes ?? a.approvers.map((approver) => ({ approver, reason: undefined as string | undefined })))
        .map((v) => `${v.approver}${v.reason ? ` ("${neutralizeUntrusted(v.reason, 200)}")` : ''}`)
        .join(', ');
      return a.actionError
        ? `approved by ${who}, then the action failed: ${a.actionError.type}: ${neutralizeUntrusted(a.actionError.message)}`
        : `approved by ${who}`;
    }
    case 'rejected':
      return `rejected by ${a.by}${a.reason ? ` ("${neutralizeUntrusted(a.reason, 200)}")` : ''}`;
    case 'timed_out':
      return 'approval timed out: denied';
  }
}

function stepNote(s: StepRecord): string {
  const parts: string[] = [];
  const approval = approvalNote(s);
  if (approval) parts.push(approval);
  if (s.items)
    parts.push(`${s.items.succeeded}/${s.items.total} items ok${s.items.failed ? `, ${s.items.failed} failed` : ''}`);
  if (s.error && !s.approval?.actionError) parts.push(`${s.error.type}: ${neutralizeUntrusted(s.error.message)}`);
  return parts.join('; ');
}

/** What the run's own state says, for `warden status`. */
function stateLines(state: RunState): string[] {
  const lines = [
    field('run', `${state.status} (playbook ${state.playbook}, initiator ${state.initiator})`),
    ...(state.currentStep ? [field('step', state.currentStep)] : []),
  ];
  if (state.error) lines.push(field('failed', `${state.error.type}: ${neutralizeUntrusted(state.error.message, 500)}`));
  const failed = state.failedActions ?? [];
  if (failed.length) {
    lines.push(`failed actions (${failed.length}):`);
    for (const f of failed)
      lines.push(
        ...indent([
          `${f.workflowId === state.workflowId ? '' : `${f.workflowId} `}${f.stepId}: ${neutralizeUntrusted(f.action)}` +
            `${f.approvedBy ? ` — approved by ${f.approvedBy.join(', ')}, then the action failed` : ' — failed'}: ${f.error.type}: ${neutralizeUntrusted(f.error.message)}`,
        ]),
      );
  }
  if (state.steps.length) {
    lines.push('steps:');
    for (const s of state.steps) {
      const note = stepNote(s);
      lines.push(
        ...indent([
          `${s.stepId.padEnd(20)} ${s.kind.padEnd(9)} ${s.status.padEnd(17)}${note ? ` ${note}` : ''}`.trimEnd(),
        ]),
      );
    }
  }
  return lines;
}

/** `warden status` as text. */
export function statusText(r: RunReport, nowMs = Date.now()): string {
  const s = r.summary;
  const lines = [
    field('workflowId', s.workflowId),
    field('runId', s.runId),
    field('type', s.type),
    field(
      'status',
      s.status + (r.state?.status === 'completed_with_failures' ? ' (with failed actions: see below)' : ''),
    ),
    field('started', s.startTime),
    ...(s.closeTime ? [field('closed', s.closeTime)] : []),
    ...(s.historyLength ? [field('history', `${s.historyLength} events`)] : []),
  ];
  if (r.failure && !r.state?.error)
    lines.push(field('failed', `${r.failure.type}: ${neutralizeUntrusted(r.failure.message, 500)}`));
  if (r.state) lines.push(...stateLines(r.state));
  if (r.pending.length) {
    lines.push(`waiting for ${r.pending.length} approval${r.pending.length > 1 ? 's' : ''}:`);
    for (const p of r.pending) lines.push(...indent(approvalLines(p, nowMs)));
  } else if (s.status === 'RUNNING' && r.state?.steps.some((x) => x.status === 'waiting_approval'))
    lines.push('waiting for an approval (see `warden approvals`)');
  for (const u of r.unavailable) lines.push(`(not shown: ${u})`);
  return lines.join('\n');
}

/** `warden status --json`: the whole report, pending approvals with their computed fields. */
export function statusJson(r: RunReport, nowMs = Date.now()): unknown {
  const { summary, ...rest } = r;
  return { ...summary, ...rest, pending: r.pending.map((p) => viewOf(p, nowMs)) };
}
