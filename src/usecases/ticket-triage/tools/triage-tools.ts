import { z } from 'zod';
import { defineTool } from '../../../tools/types';
import { Route, RouteInput, routeTicket } from '../route';
import { TicketSystem } from '../ticket';
import type { TicketToolDeps } from './deps';

const KnowledgeHitOut = z.object({ path: z.string(), title: z.string(), snippet: z.string(), score: z.number() });
const SimilarOut = z.object({
  system: z.string(),
  id: z.string(),
  number: z.string(),
  subject: z.string(),
  status: z.string(),
  createdAt: z.string(),
  score: z.number(),
});

/**
 * The read-only triage tools: `kb_search` (the knowledge articles that answer a text, cited by path),
 * `ticket_similar` (tickets seen before that read alike) and `ticket_route` (routing as code over the
 * classifier's answer and the configuration: see route.ts).
 */
export function createTriageTools(deps: TicketToolDeps) {
  const rules = {
    categories: deps.options.categories,
    autoResolve: deps.options.autoResolve,
    confidenceThreshold: deps.options.confidenceThreshold,
    defaultQueue: deps.options.defaultQueue,
  };
  return [
    defineTool({
      name: 'kb_search',
      description:
        'Full-text search (BM25) of the service desk’s knowledge articles. Returns the best articles with their ' +
        'path (cite it), title, a matching snippet and a relevance score.',
      input: z.object({
        query: z.string().trim().min(1).max(12_000).describe('Free text; only its distinctive words are searched.'),
        limit: z.number().int().min(1).max(10).default(3),
      }),
      output: z.object({ results: z.array(KnowledgeHitOut) }),
      risk: 'read',
      capabilities: [],
      summarize: (a) => `knowledge search: ${a.query.slice(0, 80)}`,
      execute: (a) => Promise.resolve({ results: deps.knowledge().search(a.query, a.limit) }),
    }),
    defineTool({
      name: 'ticket_similar',
      description: 'Tickets triaged before whose subject and description read most like this text.',
      input: z.object({
        system: TicketSystem,
        id: z.string().min(1).max(100),
        text: z.string().trim().min(1).max(12_000),
        limit: z.number().int().min(1).max(10).default(5),
      }),
      output: z.object({ results: z.array(SimilarOut) }),
      risk: 'read',
      capabilities: [],
      summarize: (a) => `similar tickets to ${a.system} ${a.id}`,
      execute: (a) =>
        Promise.resolve({ results: deps.knowledge().similarTickets(a.text, { system: a.system, id: a.id }, a.limit) }),
    }),
    defineTool({
      name: 'ticket_route',
      description:
        'Decides what happens to a classified ticket from the configured taxonomy, auto-resolve categories and ' +
        'confidence threshold: account recovery, a reply citing an article, or escalation to a queue.',
      input: RouteInput,
      output: Route,
      risk: 'read',
      capabilities: [],
      summarize: (a) => `route ${a.classification.category} (${a.classification.confidence})`,
      execute: (a) => Promise.resolve(routeTicket(a, rules)),
    }),
  ];
}
