import { z } from 'zod';
import { ToolRefusedError, defineTool } from '../../../tools/types';
import { Ticket, TicketSystem } from '../ticket';
import type { TicketToolDeps } from './deps';
import { itsmCapabilities } from './deps';

const ticketId = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._-]+$/, 'a ticket id is a sys_id, an issue id or an issue key (letters, digits, . _ -)');
/** Which ticket a write is about: its system, id, and the number people know it by. */
const TicketTarget = z.object({ system: TicketSystem, id: ticketId, number: ticketId });

/** What a ticket write returns. */
export const WriteOutput = z.object({
  system: TicketSystem,
  number: z.string(),
  operation: z.enum(['comment', 'assign', 'resolve']),
  applied: z.boolean().describe('false when the ticket already had it (a retry, or a human did it)'),
  ref: z.string(),
  mode: z.enum(['live', 'shadow']),
  outbox: z.string().optional(),
});

/** Input of `ticket_resolve`. */
export const ResolveInput = TicketTarget.extend({
  reply: z.string().trim().min(1).max(4000).describe('The answer to the requester, in the ticket’s language.'),
  article: z
    .string()
    .max(300)
    .nullish()
    .describe('Path of the knowledge article the reply cites, as kb_search returned it.'),
  closeNotes: z.string().max(4000).default('Resolved by Warden ticket triage.'),
});

/** Links are refused in automatic replies (a model that read the ticket must not send the requester elsewhere). */
const LINK = /\b(?:https?:\/\/|www\.)\S+/i;

/** The reply with its citation: title and link (or path) of the article, taken from the index, not the model. */
export function citedReply(deps: TicketToolDeps, reply: string, article: string | null | undefined): string {
  const links = reply.match(new RegExp(LINK.source, 'gi')) ?? [];
  const base = deps.options.kb.baseUrl;
  if (links.some((l) => !base || !l.startsWith(base)))
    throw new ToolRefusedError('the reply contains a link; automatic replies carry no links but the cited article’s');
  if (!article) return reply;
  const found = deps.knowledge().article(article);
  if (!found) throw new ToolRefusedError(`the reply cites "${article}", which is not an article of the knowledge base`);
  const where = base
    ? `${base.replace(/\/+$/, '')}/${found.path.split('/').map(encodeURIComponent).join('/')}`
    : found.path;
  return `${reply.trimEnd()}\n\nKnowledge article: ${found.title} (${where})`;
}

/**
 * The ticket tools: `ticket_get` (read) and the writes `ticket_comment`, `ticket_assign`, `ticket_resolve`.
 * Every write is idempotent under retries (see connectors/itsm.ts) and in shadow mode is recorded to the
 * outbox instead of sent. Credentials come only through the call's lease (`servicenow` or `jira`).
 */
export function createTicketTools(deps: TicketToolDeps) {
  const common = { rateLimitClass: 'itsm', integration: 'itsm' };
  return [
    defineTool({
      ...common,
      name: 'ticket_get',
      description:
        'Reads a ticket from its system (ServiceNow incident by sys_id, Jira issue by id or key), with the requester ' +
        'from the system’s own fields and whether the system authenticated them.',
      input: z.object({
        system: TicketSystem,
        id: ticketId,
        snapshot: Ticket.nullish().describe('The ticket as its webhook delivered it; used only in shadow mode.'),
      }),
      output: Ticket,
      risk: 'read',
      capabilities: itsmCapabilities('read'),
      summarize: (a) => `${a.system}: read ticket ${a.id}`,
      async execute(args, ctx) {
        const connector = deps.connector(args.system);
        let ticket: Ticket;
        if (connector.live) ticket = await connector.get(ctx, args.id);
        else if (args.snapshot && args.snapshot.system === args.system && args.snapshot.id === args.id)
          ticket = { ...args.snapshot, readFrom: 'webhook' };
        else ticket = await connector.get(ctx, args.id); // refuses, saying how to configure the system
        deps.knowledge().rememberTicket(ticket);
        return ticket;
      },
    }),
    defineTool({
      ...common,
      name: 'ticket_comment',
      description:
        'Adds a note to a ticket: `internal` (service-desk agents only: ServiceNow work note, Jira internal comment) ' +
        'or `public` (the requester sees it: ServiceNow additional comment, Jira public comment).',
      input: TicketTarget.extend({
        body: z.string().trim().min(1).max(30_000),
        visibility: z.enum(['internal', 'public']),
      }),
      output: WriteOutput,
      risk: 'write',
      capabilities: itsmCapabilities('write'),
      summarize: (a) => `${a.system}: ${a.visibility} note on ${a.number}`,
      execute: (a, ctx) => deps.connector(a.system).comment(ctx, a, a.body, a.visibility),
    }),
    defineTool({
      ...common,
      name: 'ticket_assign',
      description:
        'Routes a ticket to a queue (ServiceNow assignment group by name, Jira queue label) and optionally a person ' +
        '(ServiceNow user name, Jira accountId).',
      input: TicketTarget.extend({
        queue: z.string().trim().min(1).max(100).optional(),
        assignee: z.string().trim().min(1).max(100).optional(),
      }).refine((a) => a.queue || a.assignee, { message: 'name a queue, an assignee, or both' }),
      output: WriteOutput,
      risk: 'write',
      capabilities: itsmCapabilities('write'),
      summarize: (a) => `${a.system}: assign ${a.number} to ${[a.queue, a.assignee].filter(Boolean).join(' / ')}`,
      execute: (a, ctx) =>
        deps.connector(a.system).assign(ctx, a, {
          ...(a.queue ? { queue: a.queue } : {}),
          ...(a.assignee ? { assignee: a.assignee } : {}),
        }),
    }),
    defineTool({
      ...common,
      name: 'ticket_resolve',
      description:
        'Replies to the requester (citing a knowledge article by its path) and resolves the ticket: ServiceNow ' +
        'state Resolved with close code and notes, Jira the done transition.',
      input: ResolveInput,
      output: WriteOutput,
      risk: 'write',
      capabilities: itsmCapabilities('write'),
      summarize: (a) => `${a.system}: reply to and resolve ${a.number}${a.article ? ` citing ${a.article}` : ''}`,
      async execute(a, ctx) {
        const reply = citedReply(deps, a.reply, a.article);
        return deps.connector(a.system).resolve(ctx, a, { reply, closeNotes: a.closeNotes });
      },
    }),
  ];
}
