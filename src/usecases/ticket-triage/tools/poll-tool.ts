import { z } from 'zod';
import type { WardenClient } from '../../../client';
import { defineTool } from '../../../tools/types';
import { CursorStore } from '../poll/cursor-store';
import { TicketSystem } from '../ticket';
import { startTriage } from '../trigger';
import type { TicketToolDeps } from './deps';
import { itsmCapabilities } from './deps';

const Cursor = z.object({ createdAt: z.string(), id: z.string() });

/** What one poll did. */
export const PollResult = z.object({
  source: TicketSystem,
  fetched: z.number().int(),
  started: z.array(z.string()).describe('workflow ids of runs this poll started'),
  duplicates: z
    .array(z.string())
    .describe('tickets whose run already existed (re-delivery after a crash, or a webhook first)'),
  cursorBefore: Cursor.nullable(),
  cursorAfter: Cursor.nullable(),
  /** False when another poll moved the cursor meanwhile (nothing lost: starts are idempotent). */
  advanced: z.boolean(),
});
/** What one poll did. */
export type PollResult = z.infer<typeof PollResult>;

/**
 * `ticket_poll`: fetches the source's tickets after its durable cursor (oldest first, at most
 * WARDEN_TICKETS_POLL_LIMIT, older than the settle time), starts a triage run for each — idempotently, the
 * workflow id being the ticket — and only then advances the cursor to the last ticket started. A ticket is
 * never missed (the cursor never passes a ticket whose start did not succeed) nor triaged twice (a second
 * start of the same ticket returns the existing run). Risk `write`: it starts runs and moves the cursor.
 */
export function createPollTool(deps: TicketToolDeps, client: () => Promise<WardenClient>) {
  let store: CursorStore | undefined;
  return defineTool({
    name: 'ticket_poll',
    description: 'Starts triage runs for the tickets a source received since the last poll, then advances its cursor.',
    input: z.object({ source: TicketSystem }),
    output: PollResult,
    risk: 'write',
    capabilities: itsmCapabilities('read'),
    rateLimitClass: 'itsm',
    integration: 'itsm',
    summarize: (a) => `${a.source}: poll new tickets`,
    async execute(a, ctx): Promise<PollResult> {
      store ??= CursorStore.open(deps.options.poll.dbFile);
      const { limit, settleSeconds, lookbackMinutes } = deps.options.poll;
      const before = store.get(a.source);
      const tickets = await deps.connector(a.source).listNew(ctx, before, { limit, settleSeconds, lookbackMinutes });
      const started: string[] = [];
      const duplicates: string[] = [];
      const c = tickets.length ? await client() : undefined;
      for (const t of tickets) {
        // No snapshot: a polled ticket's run reads it from its system, like every live run.
        const res = await startTriage(c!, { source: a.source, id: t.id, number: t.number }, deps.options, {
          type: 'schedule',
          ref: `${a.source}/${t.number}`,
        });
        (res.duplicate ? duplicates : started).push(res.workflowId);
        ctx.heartbeat({ started: started.length + duplicates.length, of: tickets.length });
      }
      const last = tickets.at(-1);
      const after = last ? { createdAt: last.createdAt, id: last.id } : before;
      const advanced = last ? store.advance(a.source, before, after!) : true;
      ctx.logger.info({ source: a.source, fetched: tickets.length, started: started.length, advanced }, 'ticket poll');
      return {
        source: a.source,
        fetched: tickets.length,
        started,
        duplicates,
        cursorBefore: before,
        cursorAfter: after,
        advanced,
      };
    },
  });
}
