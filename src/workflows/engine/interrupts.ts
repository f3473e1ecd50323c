import { CancellationScope, condition, getExternalWorkflowHandle } from '@temporalio/workflow';
import { controlFields, verifySignedRequest } from '../../identity/signed-request';
import { FailureType } from '../../errors';
import { formatIssues } from '../../governance/issues';
import type { ControlAuthority, ControlSignal } from '../contract';
import { ControlSignal as ControlSignalSchema, controlSignal } from '../contract';
import { SIGNED_CONTROLS_PATCH, isPatched } from './patches';

import { StepFailure, now } from './failures';
import type { Journal } from './journal';
import type { ControlRecord } from './state';

/**
 * Pause, resume and cancel for one run: the requests (signal or update), the safe points where they take
 * effect (between steps, items and agent turns), the cancellation scope every step runs in, and the
 * forwarding of each request to the run's live forEach children.
 */
export class Interrupts {
  private paused = false;
  private requested = false;
  /** The scope steps run in; a cancel request cancels it, which cancels in-flight activities. */
  readonly scope = new CancellationScope();
  private readonly children = new Set<string>();
  /** Who may interrupt this run ('legacy': a history from before signed controls replays unverified). */
  private authority: ControlAuthority | 'legacy' | undefined;
  private readonly nonces = new Set<string>();

  /**
   * @param authority a forEach batch's, from its parent run; a run's own is set by {@link authorize} once it
   *   has identified itself (requests that arrive earlier wait for it).
   */
  constructor(
    private readonly journal: Journal,
    authority?: ControlAuthority | 'legacy',
  ) {
    this.authority = authority ?? (isPatched(SIGNED_CONTROLS_PATCH) ? undefined : 'legacy');
  }

  /** Sets who may interrupt the run (from the directory the worker holds when the run starts). */
  authorize(authority: ControlAuthority | 'legacy'): void {
    this.authority ??= authority;
  }

  /** The authority forEach batches inherit (undefined for histories from before signed controls). */
  get controlAuthority(): ControlAuthority | undefined {
    return typeof this.authority === 'object' ? this.authority : undefined;
  }

  /** Applies a control request once the run knows who may send one; answers with the request as recorded. */
  async request(raw: unknown): Promise<ControlRecord> {
    if (this.authority === undefined) await condition(() => this.authority !== undefined);
    return this.apply(raw);
  }

  /** True once a cancel was accepted. */
  get cancelRequested(): boolean {
    return this.requested;
  }

  /** Pause and cancel take effect here: between steps, items and agent turns; `beforeWait` runs before a pause. */
  async checkpoint(beforeWait?: () => Promise<void>): Promise<void> {
    if (this.paused) {
      await beforeWait?.();
      await condition(() => !this.paused || this.requested);
    }
    if (this.requested) throw new StepFailure(FailureType.RunCancelled, 'run cancelled');
  }

  /** {@link checkpoint} when the run is paused or cancelled, else undefined: no promise to wait on (lean runs). */
  checkpointIfHeld(beforeWait?: () => Promise<void>): Promise<void> | undefined {
    return this.paused || this.requested ? this.checkpoint(beforeWait) : undefined;
  }

  /** Tracks a child workflow that must receive the run's controls while it runs; call the result to stop. */
  trackChild(workflowId: string): () => void {
    this.children.add(workflowId);
    return () => this.children.delete(workflowId);
  }

  /**
   * Applies one control request and returns it as recorded. Never throws (a throw in a handler would fail
   * the workflow task and wedge the run): a malformed payload is recorded as refused.
   */
  apply(raw: unknown): ControlRecord {
    const state = this.journal.state;
    const parsed = ControlSignalSchema.safeParse(raw);
    if (!parsed.success) {
      const r = (raw ?? {}) as Record<string, unknown>;
      const refused: ControlRecord = {
        action: typeof r.action === 'string' ? r.action : '(missing)',
        by: typeof r.by === 'string' ? r.by : '(missing)',
        ...(typeof r.requestId === 'string' ? { requestId: r.requestId } : {}),
        outcome: 'refused',
        note: `malformed control payload: ${formatIssues(parsed.error, '(payload)')}`,
        at: now(),
      };
      this.journal.control(refused, false);
      return refused;
    }
    const c: ControlSignal = parsed.data;
    const record = (outcome: 'accepted' | 'refused', note: string, by = c.by): ControlRecord => {
      const rec: ControlRecord = {
        action: c.action,
        by,
        reason: c.reason,
        requestId: c.requestId,
        outcome,
        note,
        at: now(),
      };
      this.journal.control(rec);
      return rec;
    };
    // Refused before the signature verified: the name is only a claim.
    const refuse = (note: string) => record('refused', note, `unverified:${c.by}`);
    const authority = this.authority;
    // A run from before signed controls replays its recorded controls unverified; a live one is refused.
    if (authority === 'legacy' && isPatched(SIGNED_CONTROLS_PATCH))
      return refuse(
        'this run predates signed controls and cannot verify the request: use Temporal’s own cancel (its authorizer governs it)',
      );
    if (authority !== 'legacy') {
      if (!authority) return refuse('the run has not established who may control it');
      if (!authority.authorised[c.action].includes(c.by))
        return refuse(`${c.by} is not authorised to ${c.action} runs (policy controls.${c.action})`);
      const v = verifySignedRequest({
        purpose: 'control',
        fields: controlFields(authority.runWorkflowId, c),
        signature: c.signature,
        principal: c.by,
        keys: Object.hasOwn(authority.keys, c.by) ? authority.keys[c.by] : undefined,
        nowMs: Date.now(),
        usedNonces: this.nonces,
      });
      if (!v.ok) return refuse(v.reason);
      this.nonces.add(c.signature!.nonce);
    }
    if (
      state.status === 'completed' ||
      state.status === 'completed_with_failures' ||
      state.status === 'failed' ||
      state.status === 'cancelled'
    )
      return record('refused', `run already ${state.status}`);
    let rec: ControlRecord;
    switch (c.action) {
      case 'pause':
        if (this.paused) return record('refused', 'already paused');
        this.paused = true;
        state.status = 'paused';
        rec = record('accepted', 'pauses before the next step');
        break;
      case 'resume':
        if (!this.paused) return record('refused', 'not paused');
        this.paused = false;
        state.status = 'running';
        rec = record('accepted', 'resumed');
        break;
      case 'cancel':
        if (this.requested) return record('refused', 'cancel already requested');
        this.requested = true;
        rec = record('accepted', 'cancelling at the next safe point; in-flight activities are cancelled');
        this.scope.cancel();
        break;
    }
    this.forward(c);
    return rec;
  }

  private forward(c: ControlSignal): void {
    for (const id of this.children) {
      // A failed forward (the child already closed) is harmless; it must not fail the workflow task.
      getExternalWorkflowHandle(id)
        .signal(controlSignal, c)
        .catch(() => undefined);
    }
  }
}
