import type { ItsmConnector } from '../connectors/itsm';
import { ITSM_CAPABILITIES } from '../connectors/itsm';
import { createConnector } from '../connectors/shadow';
import { KnowledgeIndex } from '../knowledge/knowledge-index';
import type { TicketTriageOptions } from '../options';
import type { TicketSystem } from '../ticket';

/** What the ticket tools share: options, one connector per system, and the knowledge index (opened once). */
export interface TicketToolDeps {
  options: TicketTriageOptions;
  connector(system: TicketSystem): ItsmConnector;
  knowledge(): KnowledgeIndex;
}

/**
 * Builds the shared dependencies. The knowledge index opens (and indexes the folder) on first use by this
 * process, or at once with `eager` (a worker starting up), and stays open for the process's life.
 */
export function createToolDeps(options: TicketTriageOptions, opts: { eager?: boolean } = {}): TicketToolDeps {
  const connectors = new Map<TicketSystem, ItsmConnector>();
  let index: KnowledgeIndex | undefined;
  const deps: TicketToolDeps = {
    options,
    connector(system) {
      let c = connectors.get(system);
      if (!c) connectors.set(system, (c = createConnector(system, options.itsm)));
      return c;
    },
    knowledge() {
      index ??= KnowledgeIndex.open(options.kb.dbFile, options.kb.dir);
      return index;
    },
  };
  if (opts.eager) deps.knowledge();
  return deps;
}

/** Both systems' capabilities of one kind: a tool serving either system declares both and leases one. */
export function itsmCapabilities(kind: 'read' | 'write') {
  return [ITSM_CAPABILITIES.servicenow[kind], ITSM_CAPABILITIES.jira[kind]];
}
