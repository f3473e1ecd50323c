import { z } from 'zod';
import type { EventIngestor } from '../triggers/threshold-ingest';
import { EventsRejected, IncomingEvent } from '../triggers/threshold-ingest';
import { STREAM_NAME } from '../triggers/threshold-rule';
import { ToolRefusedError, defineTool } from './types';

/** Arguments of `event_emit`. */
export const EventEmitInput = z.object({
  stream: z.string().regex(STREAM_NAME, 'a stream name is a-z, 0-9, _ and - (at most 64)'),
  events: z.array(IncomingEvent).min(1).max(100),
});

/** What `event_emit` returns (the ingest result). */
export const EventEmitResult = z.object({
  accepted: z.number(),
  deliveries: z.array(z.object({ rule: z.string(), key: z.string(), entity: z.string(), events: z.number() })),
  unmatched: z.number(),
  skipped: z.array(z.object({ eventId: z.string(), rule: z.string(), reason: z.string() })),
});

/**
 * `event_emit`: feeds events to a threshold stream from a playbook step, as `POST /v1/events/:stream` does
 * from outside — the same rules, entities and dedupe by event id (a retried call counts nothing twice).
 * A breach starts its rule's playbook, itself under policy. `write`: policy decides which runs may feed
 * which stream; its target is the stream.
 */
export function createEventEmitTool(ingestor: EventIngestor) {
  return defineTool({
    name: 'event_emit',
    description: `Sends events to a threshold-trigger stream (streams with rules: ${ingestor.streams().join(', ') || 'none'}).`,
    input: EventEmitInput,
    output: EventEmitResult,
    risk: 'write',
    capabilities: [],
    integration: 'threshold_events',
    targets: (args) => [{ kind: 'stream', value: args.stream }],
    summarize: (args) => `emit ${args.events.length} event(s) to stream ${args.stream}`,
    async execute(args) {
      try {
        return await ingestor.ingest(args.stream, args.events);
      } catch (err) {
        if (err instanceof EventsRejected) throw new ToolRefusedError(err.message);
        throw err;
      }
    },
  });
}
