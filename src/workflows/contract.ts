import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { KeyDirectory } from '../identity/directory';
import { Signature } from '../identity/signed-request';
import type { ApprovalAttempt, ApprovalSignal, PendingApproval } from '../governance/approvals';
import type { ControlRecord, RunState } from './engine/state';

/*
 * The messages of Warden's workflows — every signal, query and update with its type: the contract the
 * `warden` CLI, the HTTP server and the official `temporal` CLI share. Callers use these definitions,
 * never bare names. Payloads are documented zod schemas; handlers still parse them (a sender may be any
 * client), and never throw on bad input: they record the refusal.
 */

/**
 * `approval` (signal) — decide a pending approval; for the official `temporal` CLI. Payload:
 * ApprovalSignal (src/governance/approvals.ts). Learn the outcome with the `approvalAttempts` query.
 */
export const approvalSignal = defineSignal<[ApprovalSignal]>('approval');

/**
 * `decideApproval` (update) — the same decision as the `approval` signal, answered synchronously with
 * the attempt as recorded: accepted or refused, and why. Refusals are recorded too (the handler never
 * rejects), so the audit trail holds every attempt.
 */
export const decideApprovalUpdate = defineUpdate<ApprovalAttempt, [ApprovalSignal]>('decideApproval');

/**
 * Payload of the `control` signal: signed by `by` over `controlFields` (src/identity/signed-request.ts); `by` must be authorised by
 * the policy's `controls.pause|resume|cancel`.
 */
export const ControlSignal = z.object({
  action: z.enum(['pause', 'resume', 'cancel']),
  by: z.string().min(1).max(200),
  reason: z.string().max(2000).optional(),
  /** Not signed: correlates the sender with the recorded outcome. */
  requestId: z.string().max(200).optional(),
  signature: Signature.optional(),
});
/** Payload of the `control` signal. */
export type ControlSignal = z.infer<typeof ControlSignal>;

/** Who may interrupt a run, with their keys: the run's snapshot of the directory, taken when it started. */
export interface ControlAuthority {
  /** The run whose id control signatures cover (a forEach batch's parent run). */
  runWorkflowId: string;
  authorised: Record<ControlSignal['action'], string[]>;
  keys: KeyDirectory;
}

/**
 * `control` — interrupt a run: `pause` stops before the next step, `resume` continues, `cancel` stops at
 * the next safe point and cancels in-flight activities.
 */
export const controlSignal = defineSignal<[ControlSignal]>('control');

/** `requestControl` (update) — the `control` signal, answered with the request as the run recorded it. */
export const controlUpdate = defineUpdate<ControlRecord, [ControlSignal]>('requestControl');

/** `pendingApprovals` — what the run waits for. */
export const pendingApprovalsQuery = defineQuery<PendingApproval[]>('pendingApprovals');

/** `approvalAttempts` — every approval attempt with its outcome; pass a requestId to get only that one. */
export const approvalAttemptsQuery = defineQuery<ApprovalAttempt[], [string?]>('approvalAttempts');

/** `runState` — status, step states, policy decisions and interrupts of a run. */
export const runStateQuery = defineQuery<RunState>('runState');

/**
 * Payload of the governor's `setKillSwitch` signal: signed by `by` over `killSwitchFields` (src/identity/signed-request.ts); `by`
 * must be authorised by the policy's `controls.killSwitchOn`/`killSwitchOff`.
 */
export const KillSwitchSignal = z.object({
  engaged: z.boolean(),
  by: z.string().min(1).max(200),
  reason: z.string().max(2000).optional(),
  signature: Signature.optional(),
});
/** Payload of `setKillSwitch`. */
export type KillSwitchSignal = z.infer<typeof KillSwitchSignal>;

/**
 * Payload of the governor's `reportToolOutcome` signal, sent by tool activities with a MAC under the
 * fleet key. Thresholds and cooldowns are not part of it: they come from the workers' configuration.
 */
export const ToolOutcomeSignal = z.object({
  integration: z.string().min(1).max(200),
  ok: z.boolean(),
  at: z.string().datetime(),
  /** 16 random bytes, hex: the governor takes each report once. */
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
  mac: z.string().max(200),
});
/** Payload of `reportToolOutcome`. */
export type ToolOutcomeSignal = z.infer<typeof ToolOutcomeSignal>;

/** `setKillSwitch` — engage or release the global kill switch (governor workflow). */
export const setKillSwitchSignal = defineSignal<[KillSwitchSignal]>('setKillSwitch');
/** `reportToolOutcome` — feeds the circuit breakers (governor workflow). */
export const reportToolOutcomeSignal = defineSignal<[ToolOutcomeSignal]>('reportToolOutcome');

/** A circuit breaker's state. */
export interface BreakerState {
  state: 'closed' | 'open' | 'half_open';
  consecutiveFailures: number;
  /** Epoch ms until which calls are refused (open), then one trial is let through (half-open). */
  openUntil?: number;
  openedAt?: string;
}

/** Fleet-wide governance state held by the governor workflow. */
export interface GovernorState {
  killSwitch: { engaged: boolean; by?: string; reason?: string; since?: string };
  breakers: Record<string, BreakerState>;
  /** The last changes, newest last. */
  changes: { at: string; what: string; by?: string }[];
  /**
   * True while a starting governor restores its state (sealed hand-over or the audit ledger): the kill switch
   * and breakers are not known yet, so workers hold write tools until it is false.
   */
  restoring?: boolean;
  /** Nonces of accepted signed kill-switch changes (replays are refused). */
  nonces?: string[];
  /** Nonces of accepted breaker reports, newest last (reports older than 10 minutes are refused anyway). */
  reportNonces?: string[];
}

/** `governorState` — kill switch and breaker states. */
export const governorStateQuery = defineQuery<GovernorState>('governorState');
