import { z } from 'zod';
import { TicketClassification } from './agent';
import type { Category } from './ticket';

/*
 * Routing: deterministic code over the classifier's answer, the knowledge found, the requester's identity and
 * the deployment's configuration. The model proposes a category; this decides what may happen next, and
 * policy decides again on every action.
 */

/** What routing needs to know. */
export const RouteInput = z.object({
  classification: TicketClassification,
  /** Paths kb_search returned for this ticket: the only articles a reply may cite. */
  knowledgePaths: z.array(z.string()).default([]),
  requester: z.object({
    /** The ticket system authenticated the requester. */
    verified: z.boolean().default(false),
    /** directory_lookup's answer for the requester's email (null when it failed or did not run). */
    directory: z
      .object({
        found: z.boolean(),
        id: z.string().nullable(),
        status: z.string().nullable(),
        emailMatches: z.boolean(),
      })
      .nullish(),
  }),
  ticketClosed: z.boolean().default(false),
});
/** What routing needs to know. */
export type RouteInput = z.input<typeof RouteInput>;

/** What happens next. */
export const Plan = z.enum(['reset_password', 'unlock_account', 'reply', 'escalate', 'none']);
/** What happens next. */
export type Plan = z.infer<typeof Plan>;

/** The route of a ticket. */
export const Route = z.object({
  /** The classifier's category when it is one of the taxonomy's; `unknown` otherwise. */
  category: z.string(),
  queue: z.string(),
  confidence: z.number(),
  /** A human confirms the triage before anything is done (low confidence, or a category outside the taxonomy). */
  lowConfidence: z.boolean(),
  plan: Plan,
  /** The article a reply cites (one kb_search found for this ticket), or null. */
  article: z.string().nullable(),
  /** Account recovery for a requester the ticket system did not authenticate: a human confirms identity first. */
  needsIdentityCheck: z.boolean(),
  /** Okta id of the requester, for account recovery. */
  directoryId: z.string().nullable(),
  reasons: z.array(z.string()),
});
/** The route of a ticket. */
export type Route = z.infer<typeof Route>;

/** Routing configuration. */
export interface RoutingRules {
  categories: readonly Category[];
  autoResolve: readonly string[];
  confidenceThreshold: number;
  defaultQueue: string;
}

const RECOVERY: Record<string, Plan> = { password_reset: 'reset_password', account_unlock: 'unlock_account' };
const RECOVERABLE_STATUS = new Set(['ACTIVE', 'LOCKED_OUT', 'PASSWORD_EXPIRED', 'RECOVERY']);

/** Case-, space- and dash-insensitive match of a model's label to the taxonomy. */
export function matchCategory(label: string, categories: readonly Category[]): Category | undefined {
  const key = (s: string) =>
    s
      .toLowerCase()
      .replace(/[\s-]+/g, '_')
      .trim();
  return categories.find((c) => key(c.name) === key(label));
}

/** Routes one classified ticket (pure). */
export function routeTicket(raw: RouteInput, rules: RoutingRules): Route {
  const input = RouteInput.parse(raw);
  const c = input.classification;
  const reasons: string[] = [];
  const category = matchCategory(c.category, rules.categories);
  if (!category) reasons.push(`"${c.category}" is not a category of the taxonomy`);
  const lowConfidence = !category || c.confidence < rules.confidenceThreshold;
  if (category && lowConfidence) reasons.push(`confidence ${c.confidence} is below ${rules.confidenceThreshold}`);
  const dir = input.requester.directory;
  const base = {
    category: category?.name ?? 'unknown',
    queue: category?.queue ?? rules.defaultQueue,
    confidence: c.confidence,
    lowConfidence,
    article: null as string | null,
    needsIdentityCheck: false,
    directoryId: dir?.found ? dir.id : null,
  };
  if (input.ticketClosed) return { ...base, plan: 'none', reasons: [...reasons, 'the ticket is already closed'] };
  if (!category || !rules.autoResolve.includes(category.name)) {
    if (category) reasons.push(`${category.name} is not auto-resolved here: escalate to ${category.queue}`);
    return { ...base, plan: 'escalate', reasons };
  }
  const article = c.article && input.knowledgePaths.includes(c.article) ? c.article : null;
  if (c.article && !article) reasons.push(`the cited article "${c.article}" was not found for this ticket`);
  const recovery = RECOVERY[category.name];
  if (recovery) {
    if (!dir?.found || !dir.id)
      return { ...base, plan: 'escalate', article, reasons: [...reasons, 'the requester is not in the directory'] };
    if (!dir.emailMatches)
      return {
        ...base,
        plan: 'escalate',
        article,
        reasons: [...reasons, 'the directory user does not carry the requester’s email'],
      };
    if (!RECOVERABLE_STATUS.has(dir.status ?? ''))
      return {
        ...base,
        plan: 'escalate',
        article,
        reasons: [...reasons, `directory status ${dir.status ?? '(none)'} needs an admin`],
      };
    const needsIdentityCheck = !input.requester.verified;
    if (needsIdentityCheck)
      reasons.push('the ticket system did not authenticate the requester: a human confirms identity first');
    return { ...base, plan: recovery, article, needsIdentityCheck, reasons };
  }
  if (!article) return { ...base, plan: 'escalate', reasons: [...reasons, 'no knowledge article answers it'] };
  return { ...base, plan: 'reply', article, reasons };
}
