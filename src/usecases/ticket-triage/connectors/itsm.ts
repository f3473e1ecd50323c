import type { Capability, ToolContext } from '../../../tools/types';
import type { Ticket, TicketSystem } from '../ticket';
import type { ServiceNowAuth } from './servicenow';
import type { VerificationRules } from './normalize';

/*
 * One interface over the ticket systems, so tools and the poll speak of tickets, not of vendors. Every
 * write is idempotent under activity retries: notes carry a reference derived from the idempotency key and
 * are skipped when already in the ticket's journal; assignment and resolution are set-to-state operations.
 */

/** Credential capabilities by system: one secret each (`servicenow.api_token`, `jira.api_token`). */
export const ITSM_CAPABILITIES: Record<TicketSystem, { read: Capability; write: Capability }> = {
  servicenow: {
    read: { provider: 'servicenow', scopes: ['incident:read'] },
    write: { provider: 'servicenow', scopes: ['incident:write'] },
  },
  jira: {
    read: { provider: 'jira', scopes: ['issue:read'] },
    write: { provider: 'jira', scopes: ['issue:write'] },
  },
};

/** Which ticket a write is about. */
export interface TicketKey {
  id: string;
  number: string;
}

/** What a write did. `applied: false` means the ticket already was in that state (a retry, or done by a human). */
export interface WriteResult {
  system: TicketSystem;
  number: string;
  operation: 'comment' | 'assign' | 'resolve';
  applied: boolean;
  /** The reference appended to notes (`warden-ref:...`). */
  ref: string;
  /** `shadow`: recorded in the outbox file, not sent (no URL configured for this system). */
  mode: 'live' | 'shadow';
  /** The outbox file, in shadow mode. */
  outbox?: string;
}

/** The high-water mark of a poll: the last ticket handed out, in the system's own order. */
export interface PollCursor {
  createdAt: string;
  id: string;
}

/** Options of one poll page. */
export interface PollWindow {
  limit: number;
  /** Tickets younger than this are left for the next poll (a slow commit must not be skipped). */
  settleSeconds: number;
  /** Without a cursor: how far back the first poll looks. */
  lookbackMinutes: number;
}

/** A ticket system, behind one interface. */
export interface ItsmConnector {
  readonly system: TicketSystem;
  /** False in shadow mode (no URL configured): reads need a delivered snapshot, writes go to the outbox. */
  readonly live: boolean;
  /** The ticket as its system holds it now. */
  get(ctx: ToolContext, id: string): Promise<Ticket>;
  /** Adds a note: `internal` (agents only) or `public` (the requester sees it). */
  comment(ctx: ToolContext, t: TicketKey, body: string, visibility: 'internal' | 'public'): Promise<WriteResult>;
  /** Routes the ticket to a queue (ServiceNow assignment group, Jira queue label) and optionally a person. */
  assign(ctx: ToolContext, t: TicketKey, to: { queue?: string; assignee?: string }): Promise<WriteResult>;
  /** Sends the requester a reply and resolves the ticket. */
  resolve(ctx: ToolContext, t: TicketKey, r: { reply: string; closeNotes: string }): Promise<WriteResult>;
  /** Tickets after `cursor` in creation order, oldest first, at most `limit`. */
  listNew(ctx: ToolContext, cursor: PollCursor | null, window: PollWindow): Promise<Ticket[]>;
}

/** Connector settings, from the use case's settings. */
export interface ItsmSettings {
  servicenow: {
    url: string | undefined;
    auth: ServiceNowAuth;
    /** Encoded query every poll adds (e.g. `active=true^assignment_groupISEMPTY`). */
    filter: string;
    /** `close_code` of a resolution (your instance's choice list). */
    closeCode: string;
  };
  jira: {
    url: string | undefined;
    /** JQL every poll adds (e.g. `project = ITSD`). */
    jql: string | undefined;
    /** Name of the transition that resolves; unset: the first one into a done status. */
    doneTransition: string | undefined;
  };
  verification: VerificationRules;
  /** Where shadow-mode writes are recorded. */
  outboxDir: string;
  timeoutMs?: number;
}
