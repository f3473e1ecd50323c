import type { Context, Info } from '@temporalio/activity';
import { z } from 'zod';
import { WriteIntent } from '../tools/write-intent';
import type { ToolContext } from '../tools/types';

/**
 * What the tool activity keeps in its heartbeat details: the write its tool announced (if any) and the tool's
 * own progress. Temporal hands the last details the server recorded to the next attempt of the same activity.
 */
export const ToolHeartbeatDetails = z.object({
  writeIntent: WriteIntent.optional(),
  progress: z.unknown().optional(),
});
/** What the tool activity keeps in its heartbeat details. */
export type ToolHeartbeatDetails = z.infer<typeof ToolHeartbeatDetails>;

/**
 * Records heartbeat details for the running attempt with the Temporal server and resolves once the server has
 * them (the worker passes its client's `activity.heartbeat`, a RecordActivityTaskHeartbeat call by task token).
 */
export type RecordHeartbeat = (info: Info, details: ToolHeartbeatDetails) => Promise<void>;

/** An announced write could not be recorded with Temporal, so the tool did not write. Retried like a vendor outage. */
export class WriteIntentNotRecorded extends Error {
  override readonly name = 'WriteIntentNotRecorded';
}

/**
 * The tool activity's heartbeat: liveness, the tool's progress, and the write intent a retry needs to tell a
 * change its own earlier attempt made from one it finds already made (see `appliedByEarlierAttempt`).
 *
 * Why the announcement is awaited through `record`: `Context.heartbeat` only queues details. The worker's core
 * sends the first heartbeat of an attempt at once and throttles later ones (to 80% of the heartbeat timeout,
 * 8 s for tool calls), so an intent queued after the periodic liveness beats could reach the server seconds
 * after the vendor write, and a worker killed in between would take it along. An activity that fails instead of
 * dying is covered either way: the worker flushes its pending heartbeat before it reports a failure.
 */
export class ToolHeartbeat {
  /** The write an earlier attempt of this activity announced, if any. */
  readonly prior: WriteIntent | undefined;
  private details: ToolHeartbeatDetails;

  constructor(
    private readonly ctx: Context,
    private readonly record?: RecordHeartbeat,
  ) {
    const earlier = ToolHeartbeatDetails.safeParse(ctx.info.heartbeatDetails);
    this.prior = earlier.success ? earlier.data.writeIntent : undefined;
    // Carried forward: an attempt that dies before announcing a write of its own must not erase the first one's.
    this.details = this.prior ? { writeIntent: this.prior } : {};
  }

  /** Heartbeats the current details, with the tool's latest progress when given. */
  beat(progress?: unknown): void {
    if (progress !== undefined) this.details = { ...this.details, progress };
    this.ctx.heartbeat(this.details);
  }

  /**
   * Announces a write and waits until the server has recorded it.
   * @throws WriteIntentNotRecorded when the server did not take it (the attempt is no longer current, or
   *   Temporal is unreachable): the tool must not write.
   */
  async announce(intent: WriteIntent): Promise<void> {
    this.details = { writeIntent: WriteIntent.parse(intent) };
    this.ctx.heartbeat(this.details);
    if (!this.record) return;
    try {
      await this.record(this.ctx.info, this.details);
    } catch (err) {
      throw new WriteIntentNotRecorded(
        `could not record the intent to ${intent.action} ${intent.target} with Temporal, so nothing was sent to the vendor: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }

  /** The part of a ToolContext this heartbeat provides. */
  toolContext(): Pick<ToolContext, 'heartbeat' | 'announceWrite' | 'priorWrite'> {
    return {
      heartbeat: (progress) => this.beat(progress),
      announceWrite: (intent) => this.announce(intent),
      ...(this.prior ? { priorWrite: this.prior } : {}),
    };
  }
}
