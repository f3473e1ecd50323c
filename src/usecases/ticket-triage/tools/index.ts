import type { WardenClient } from '../../../client';
import type { AnyTool } from '../../../tools/types';
import type { TicketTriageOptions } from '../options';
import { createAccountTools } from './account-tools';
import { createToolDeps } from './deps';
import { createEscalateTool } from './escalate-tool';
import { createPollTool } from './poll-tool';
import { createTicketTools } from './ticket-tools';
import { createTriageTools } from './triage-tools';

/**
 * Every ticket-triage tool, built from the resolved options: the ticket tools (get, comment, assign,
 * resolve, escalate), knowledge (kb_search, ticket_similar), routing, the directory and account recovery
 * (Okta), and the poll (which starts runs through `client`, connected on its first use).
 */
export function createTicketTriageTools(
  options: TicketTriageOptions,
  opts: { client: () => Promise<WardenClient>; eager?: boolean },
): AnyTool[] {
  const deps = createToolDeps(options, { eager: opts.eager });
  return [
    ...createTicketTools(deps),
    createEscalateTool(deps),
    ...createTriageTools(deps),
    ...createAccountTools(deps),
    createPollTool(deps, opts.client),
  ] as AnyTool[];
}
