import { patched, workflowInfo } from '@temporalio/workflow';

/*
 * Every `patched()` marker the engine uses, in one place. Each guards a change in the commands a run issues,
 * so runs recorded before the change replay as they ran.
 */

/** Records go to the audit ledger (runs from before it replay without audit activities). */
export const AUDIT_LEDGER_PATCH = 'warden-audit-ledger';
/** Pause/resume/cancel must be signed by someone the run's directory authorises. */
export const SIGNED_CONTROLS_PATCH = 'warden-signed-controls';
/** The initiator is verified by a local activity before the first step. */
export const VERIFIED_INITIATOR_PATCH = 'warden-verified-initiator';
/** Parents vouch for their forEach batches under the fleet key. */
export const BATCH_ATTESTATION_PATCH = 'warden-batch-attestation';
/** Approvals are signed decisions. */
export const SIGNED_APPROVALS_PATCH = 'warden-signed-approvals';
/** Approved actions carry a decision token the worker checks. */
export const DECISION_TOKENS_PATCH = 'warden-decision-tokens';
/** A run cancelled with `warden cancel` ends FAILED (RunCancelled), not COMPLETED. */
export const CANCELLED_RUN_FAILS_PATCH = 'warden-cancelled-run-fails';
/** Audit records are flushed in batches at natural points, not after every step. */
export const AUDIT_BATCHES_PATCH = 'warden-audit-batches';

/**
 * Patch marker: this run settled every patch below at its start. A `patched()` call placed after a local
 * activity can land, in the original execution, in a later workflow task than its replay puts it (when
 * the local activity outlives a workflow task and the worker heartbeats it: under load, e.g. 50 alerts at
 * once), and the run then fails replay with "patch marker encountered … no corresponding change command"
 * — every query and every worker restart of such a run breaks. Settling them all in the first activation,
 * before any local activity, puts every marker in the first workflow task; later calls return the same
 * answer (Temporal memoises a patch per run).
 */
export const PATCHES_AT_START_PATCH = 'warden-patches-at-start';

const LATER_PATCHES = [
  BATCH_ATTESTATION_PATCH,
  SIGNED_APPROVALS_PATCH,
  DECISION_TOKENS_PATCH,
  CANCELLED_RUN_FAILS_PATCH,
];

/**
 * Patch epoch 1: a run that records this one marker has every patch above (and the governor's verified
 * requests) without recording each. Temporal records a marker and upserts the `TemporalChangeVersion` search
 * attribute for every patch a run takes: ten patches were twenty of a triage run's eighty history events and
 * ten visibility writes on the server. Runs recorded before the epoch replay patch by patch, as they ran.
 * A patch added after this one is checked with `patched()` as usual (or starts epoch 2).
 */
export const PATCH_EPOCH_1 = 'warden-patch-epoch-1';

/** Allowed reads are decided and executed in one activity (`decideAndRead`), not a local activity first. */
export const DECIDE_AND_READ_PATCH = 'warden-decide-and-read';

/**
 * Patch epoch 2: every patch of epoch 1, and the ones listed here, for one marker. Only runs that recorded
 * this marker at their start take an epoch-2 patch: a run recorded before it keeps its path to the end
 * (no `patched()` call after a local activity, see PATCHES_AT_START_PATCH).
 */
export const PATCH_EPOCH_2 = 'warden-patch-epoch-2';
const EPOCH_2_PATCHES: readonly string[] = [DECIDE_AND_READ_PATCH];

/**
 * Steps, items and tool calls take fewer promises: no promise where nothing waits (pause/cancel check, a
 * flush that is not due), spans ended by one `then`, the allow path without async wrappers. Inside a
 * workflow every promise pays for the SDK's promise hook (a stack capture for the Web UI's Stack Trace
 * view): a triage run made about a thousand. Fewer promises also means fewer microtask turns, which can
 * change the order in which concurrent lanes issue commands: hence a patch.
 */
export const LEAN_STEPS_PATCH = 'warden-lean-steps';

/** Patch epoch 3: every patch of epoch 2, and the ones listed here, for one marker (as epoch 2). */
export const PATCH_EPOCH_3 = 'warden-patch-epoch-3';
const EPOCH_3_PATCHES: readonly string[] = [LEAN_STEPS_PATCH];

/**
 * The reads an inline forEach's items begin with are decided and made in one local activity
 * (`decideAndReadMany`), not one each: one marker in the run's history instead of one per item, and none
 * of the per-call plumbing a local activity costs in workflow code (engine/fan-out.ts).
 */
export const FAN_OUT_READS_PATCH = 'warden-fan-out-reads';

/**
 * A run's audit records are flushed by a local activity (`appendAudit` in the worker that runs the
 * workflow task) rather than an activity: no round trip through the server's task queue, no workflow task
 * of its own. The same records, keys and checks.
 */
export const LOCAL_AUDIT_FLUSH_PATCH = 'warden-local-audit-flush';

/** Patch epoch 4: every patch of epoch 3, and the ones listed here, for one marker (as epoch 2). */
export const PATCH_EPOCH_4 = 'warden-patch-epoch-4';
const EPOCH_4_PATCHES: readonly string[] = [FAN_OUT_READS_PATCH, LOCAL_AUDIT_FLUSH_PATCH];

type EpochLevel = 0 | 1 | 2 | 3 | 4;

/** The epoch of the current run (module state is per workflow execution; the run id guards it). */
let epoch: { runId: string; level: EpochLevel } | undefined;

/**
 * Whether this run takes patch `id`: an epoch-N patch (N ≥ 2) only in runs of epoch N or later; any other
 * yes for every run of epoch 1 or later, else as `patched(id)` answers. The first call in a run settles the
 * epoch (new runs record only the newest epoch's marker); make it before any local activity (patches at
 * start, below).
 */
export function isPatched(id: string): boolean {
  const { runId } = workflowInfo();
  if (epoch?.runId !== runId) {
    epoch = {
      runId,
      level: patched(PATCH_EPOCH_4)
        ? 4
        : patched(PATCH_EPOCH_3)
          ? 3
          : patched(PATCH_EPOCH_2)
            ? 2
            : patched(PATCH_EPOCH_1)
              ? 1
              : 0,
    };
  }
  return takes(epoch.level, id) ?? patched(id);
}

/** Whether a run of epoch `level` takes patch `id`; undefined when only `patched(id)` can say. */
function takes(level: EpochLevel, id: string): boolean | undefined {
  if (EPOCH_4_PATCHES.includes(id)) return level >= 4;
  if (EPOCH_3_PATCHES.includes(id)) return level >= 3;
  if (EPOCH_2_PATCHES.includes(id)) return level >= 2;
  return level >= 1 ? true : undefined;
}

/**
 * Like {@link isPatched} for an epoch patch, but never settles the epoch: false in a run that has not (a
 * workflow other than a playbook run, e.g. the governor). For code every workflow shares (interceptors),
 * where a first `patched()` call could come after a local activity.
 */
export function isSettledPatched(id: string): boolean {
  return epoch?.runId === workflowInfo().runId && takes(epoch.level, id) === true;
}

/** Call first thing in a run (before any local activity): see PATCHES_AT_START_PATCH. */
export function settlePatchesAtStart(): void {
  if (isPatched(PATCHES_AT_START_PATCH)) for (const id of LATER_PATCHES) isPatched(id);
}
