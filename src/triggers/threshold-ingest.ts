import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { evaluate, truthy } from '../governance/expressions';
import { formatIssues } from '../governance/issues';
import type { CompiledThresholdRule, EntityEvent, ThresholdEntityInput } from './threshold-contract';
import { thresholdEntityId, thresholdEventsSignal } from './threshold-contract';

/*
 * The ingest side of threshold triggers: validates events, picks the rules of their stream, evaluates
 * each rule's match and key expressions, and hands the events to the (rule, key) entity workflow with
 * signal-with-start. Stateless: every count lives in Temporal, so any number of HTTP servers or poll
 * activities can ingest side by side, and a retried delivery is deduplicated by event id in the entity.
 */

/** One event as a sender posts it: an object with an `id` and optionally a `time`; any other fields. */
export const IncomingEvent = z.looseObject({
  /** The sender's unique event id: a retried delivery with the same id is counted once. */
  id: z.string().min(1).max(128),
  /** When it happened (ISO 8601 with offset). Absent, or later than its receipt: the receipt time. */
  time: z.iso.datetime({ offset: true }).optional(),
});
/** One event as a sender posts it. */
export type IncomingEvent = z.infer<typeof IncomingEvent>;

/** A delivery refused as a whole (nothing recorded): becomes a 4xx with this message. */
export class EventsRejected extends Error {
  override readonly name = 'EventsRejected';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** What {@link EventIngestor.ingest} did. */
export interface IngestResult {
  /** Valid events received. */
  accepted: number;
  /** One line per (rule, key) entity that was handed events. */
  deliveries: { rule: string; key: string; entity: string; events: number }[];
  /** Events that no rule of the stream counted. */
  unmatched: number;
  /** Events a rule matched but could not key (its key expression gave no string or number). */
  skipped: { eventId: string; rule: string; reason: string }[];
}

/** Options for {@link EventIngestor}. */
export interface EventIngestorOptions {
  client: Client;
  /** Where the entity workflows (and the runs they fire) are executed. */
  taskQueue: string;
  rules: CompiledThresholdRule[];
  /** Largest single event (serialized JSON). @default 16384 */
  maxEventBytes?: number;
  /** Largest number of events per delivery. @default 500 */
  maxEvents?: number;
  now?: () => number;
}

const SAFE_KEY = /^[A-Za-z0-9._@-]{1,64}$/;

/** The key as it appears in workflow ids: itself when short and plain, else `~` + a hash of it. */
export function keyIdOf(key: string): string {
  return SAFE_KEY.test(key) ? key : `~${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/**
 * Feeds events to threshold entities. Use one per process (HTTP server, worker) and call
 * {@link ingest} from the events route or from a use case's poll activity.
 */
export class EventIngestor {
  private readonly byStream = new Map<string, CompiledThresholdRule[]>();
  private readonly maxEventBytes: number;
  private readonly maxEvents: number;
  private readonly now: () => number;

  constructor(private readonly opts: EventIngestorOptions) {
    for (const r of opts.rules) this.byStream.set(r.stream, [...(this.byStream.get(r.stream) ?? []), r]);
    this.maxEventBytes = opts.maxEventBytes ?? 16 * 1024;
    this.maxEvents = opts.maxEvents ?? 500;
    this.now = opts.now ?? Date.now;
  }

  /** Streams that at least one rule watches. */
  streams(): string[] {
    return [...this.byStream.keys()].sort();
  }

  /**
   * Validates a delivery: one event object, or an array of them.
   * @throws EventsRejected (400/413) naming the first bad event and what is wrong; then nothing is recorded.
   */
  parse(body: unknown): IncomingEvent[] {
    const list = Array.isArray(body) ? body : [body];
    if (list.length === 0) throw new EventsRejected(400, 'no events: send one event object or an array of them');
    if (list.length > this.maxEvents) {
      throw new EventsRejected(413, `${list.length} events in one delivery; at most ${this.maxEvents} — split it`);
    }
    const ids = new Set<string>();
    return list.map((raw, i) => {
      const where = Array.isArray(body) ? `event #${i + 1}` : 'event';
      const parsed = IncomingEvent.safeParse(raw);
      if (!parsed.success) {
        throw new EventsRejected(
          400,
          `${where}: ${formatIssues(parsed.error, '(event)')} — an event is a JSON object with a string "id" and an optional ISO 8601 "time"; nothing was recorded`,
        );
      }
      const bytes = Buffer.byteLength(JSON.stringify(raw));
      if (bytes > this.maxEventBytes) {
        throw new EventsRejected(
          413,
          `${where} is ${bytes} bytes; at most ${this.maxEventBytes} — nothing was recorded`,
        );
      }
      if (ids.has(parsed.data.id)) {
        throw new EventsRejected(
          400,
          `${where}: id "${parsed.data.id}" appears twice in one delivery — nothing was recorded`,
        );
      }
      ids.add(parsed.data.id);
      return parsed.data;
    });
  }

  /**
   * Counts events of `stream` against its rules: validates them all first (a bad one rejects the whole
   * delivery), then signals each (rule, key) entity once with its events, in order. Safe to retry: an
   * event id already counted is ignored by its entity.
   * @throws EventsRejected for invalid events; Temporal errors (unavailable) propagate — retry later.
   */
  async ingest(stream: string, body: unknown): Promise<IngestResult> {
    const events = this.parse(body);
    const receivedAt = this.now();
    const rules = this.byStream.get(stream) ?? [];
    const groups = new Map<
      string,
      { rule: CompiledThresholdRule; key: string; keyId: string; events: EntityEvent[] }
    >();
    const skipped: IngestResult['skipped'] = [];
    let unmatched = 0;
    for (const e of events) {
      let counted = false;
      for (const rule of rules) {
        let key: unknown;
        try {
          if (rule.match !== undefined && !truthy(evaluate(rule.match, e))) continue;
          key = evaluate(rule.key, e);
        } catch (err) {
          skipped.push({ eventId: e.id, rule: rule.id, reason: (err as Error).message });
          continue;
        }
        if (!((typeof key === 'string' && key.length > 0 && key.length <= 200) || Number.isFinite(key))) {
          skipped.push({
            eventId: e.id,
            rule: rule.id,
            reason: `key expression "${rule.key}" gave ${JSON.stringify(key) ?? 'nothing'}; it must give a string (1-200 chars) or a number`,
          });
          continue;
        }
        counted = true;
        const k = String(key);
        const keyId = keyIdOf(k);
        const entity = thresholdEntityId(rule, keyId);
        const time = e.time ? Math.min(Date.parse(e.time), receivedAt) : receivedAt;
        const g = groups.get(entity) ?? { rule, key: k, keyId, events: [] };
        g.events.push({ id: e.id, time: Math.max(time, 0), receivedAt, event: e });
        groups.set(entity, g);
      }
      if (!counted) unmatched++;
    }
    const deliveries: IngestResult['deliveries'] = [];
    const work = [...groups.entries()];
    // A few entities at a time: a large delivery must not open hundreds of concurrent RPCs.
    for (let i = 0; i < work.length; i += 8) {
      await Promise.all(
        work.slice(i, i + 8).map(async ([entity, g]) => {
          const input: ThresholdEntityInput = { rule: g.rule, key: g.key, keyId: g.keyId };
          await this.opts.client.workflow.signalWithStart('thresholdEntity', {
            workflowId: entity,
            taskQueue: this.opts.taskQueue,
            args: [input],
            signal: thresholdEventsSignal,
            signalArgs: [{ events: g.events }],
            staticSummary:
              `threshold ${g.rule.id} for ${g.key}: ${g.rule.threshold} events in ${g.rule.windowMs / 1000} s`.slice(
                0,
                200,
              ),
          });
          deliveries.push({ rule: g.rule.id, key: g.key, entity, events: g.events.length });
        }),
      );
    }
    return { accepted: events.length, deliveries, unmatched, skipped };
  }
}
