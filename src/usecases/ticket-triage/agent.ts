import { z } from 'zod';
import type { AgentDefinition } from '../../agents/types';
import { normalizeLanguage } from './language';

/**
 * The classifier's answer. It only describes the ticket and drafts a reply: what happens next is decided by
 * routing code (route.ts) and policy, never by this answer alone.
 */
export const TicketClassification = z.object({
  /** One of the taxonomy's category names, exactly as listed in the input. */
  category: z.string().trim().min(1).max(64),
  priority: z.enum(['low', 'medium', 'high', 'critical']),
  /** ISO 639-1 code of the ticket's language, e.g. en, de, fr; a language name is taken as its code. */
  language: z.preprocess(
    normalizeLanguage,
    z.string().regex(/^[a-z]{2,3}(-[a-z0-9]{2,8})?$/, 'an ISO 639-1 code such as en, de or pt-br'),
  ),
  confidence: z.number().min(0).max(1),
  /** One or two sentences for the service desk. */
  summary: z.string().trim().min(1).max(600),
  /** The path of the knowledge article (from the input) that answers the ticket, or null. */
  article: z.string().trim().max(300).nullable().default(null),
  /** A reply to the requester, in the ticket's language. */
  reply: z.string().trim().min(1).max(3000),
});
/** The classifier's answer. */
export type TicketClassification = z.infer<typeof TicketClassification>;

/**
 * `agent:ticket-classifier`: reads one ticket, the taxonomy and the knowledge articles found for it, and
 * answers category, priority, language, confidence, a summary, the article that answers it and a reply
 * drafted in the ticket's language. It has no tools: knowledge is searched before it runs, and it can act
 * on nothing — an attempt to call any tool is refused by its empty allowlist.
 */
export const ticketClassifier: AgentDefinition = {
  name: 'ticket-classifier',
  description: 'Classifies an IT service-desk ticket and drafts the reply',
  instructions: [
    'You are an IT service-desk analyst triaging one ticket.',
    'Choose the category from input.categories: copy its name exactly; use "other" when none fits.',
    'Priority: critical when many people or a business-critical service are down, high when one person cannot work,',
    'medium when work is impaired, low for questions and requests.',
    'Language: the ISO 639-1 code of the language the ticket is written in.',
    'Confidence: between 0 and 1, how sure you are of the category; be honest, a human checks low values.',
    'Article: the path of the input.knowledge article that answers the ticket, or null when none does.',
    'Reply: a short, polite answer to the requester written in the ticket’s language, using the article when there is one.',
    'Never promise an action for anyone but the requester, and never include links.',
  ].join(' '),
  allowedTools: [],
  output: TicketClassification,
  budgets: { maxTurns: 3, maxToolCalls: 2, maxTokens: 20_000, maxViolations: 2 },
};
