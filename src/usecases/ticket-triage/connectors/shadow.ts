import fs from 'node:fs';
import path from 'node:path';
import { ToolRefusedError } from '../../../tools/types';
import type { ToolContext } from '../../../tools/types';
import type { Ticket, TicketSystem } from '../ticket';
import type { ItsmConnector, ItsmSettings, TicketKey, WriteResult } from './itsm';
import { wardenRef } from './marker';
import { JiraConnector } from './jira-connector';
import { ServiceNowConnector } from './servicenow-connector';

/** One line of a shadow outbox: what Warden would have written to the ticket system. */
export interface OutboxEntry {
  at: string;
  system: TicketSystem;
  number: string;
  operation: WriteResult['operation'];
  ref: string;
  fields: Record<string, unknown>;
}

/**
 * Shadow mode, for a system with no URL configured (a trial, the `warden dev` demo): reads need the ticket
 * as delivered by its webhook, and every write is appended to `<outboxDir>/<system>-<number>.jsonl` instead
 * of being sent — once per reference, so retries stay idempotent. Polling is refused: there is nothing to poll.
 */
export class ShadowConnector implements ItsmConnector {
  readonly live = false;

  constructor(
    readonly system: TicketSystem,
    private readonly outboxDir: string,
  ) {}

  /** The outbox file of a ticket. */
  outboxFile(number: string): string {
    return path.join(this.outboxDir, `${this.system}-${number.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`);
  }

  /** Every entry recorded for a ticket, oldest first. */
  entries(number: string): OutboxEntry[] {
    const file = this.outboxFile(number);
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as OutboxEntry);
  }

  get(): Promise<Ticket> {
    return Promise.reject(
      new ToolRefusedError(
        `${this.system}: no URL is configured (shadow mode), so the ticket can only come from its webhook delivery; ` +
          `set WARDEN_TICKETS_${this.system.toUpperCase()}_URL to read tickets from ${this.system}`,
      ),
    );
  }

  private record(ctx: ToolContext, t: TicketKey, operation: WriteResult['operation'], fields: Record<string, unknown>) {
    const ref = wardenRef(ctx.idempotencyKey);
    const file = this.outboxFile(t.number);
    const applied = !this.entries(t.number).some((e) => e.ref === ref && e.operation === operation);
    if (applied) {
      fs.mkdirSync(this.outboxDir, { recursive: true });
      const entry: OutboxEntry = {
        at: new Date().toISOString(),
        system: this.system,
        number: t.number,
        operation,
        ref,
        fields,
      };
      fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
    }
    const result: WriteResult = {
      system: this.system,
      number: t.number,
      operation,
      applied,
      ref,
      mode: 'shadow',
      outbox: file,
    };
    return Promise.resolve(result);
  }

  comment(ctx: ToolContext, t: TicketKey, body: string, visibility: 'internal' | 'public') {
    return this.record(ctx, t, 'comment', { visibility, body });
  }

  assign(ctx: ToolContext, t: TicketKey, to: { queue?: string; assignee?: string }) {
    return this.record(ctx, t, 'assign', { ...to });
  }

  resolve(ctx: ToolContext, t: TicketKey, r: { reply: string; closeNotes: string }) {
    return this.record(ctx, t, 'resolve', { ...r });
  }

  listNew(): Promise<Ticket[]> {
    return Promise.reject(
      new ToolRefusedError(
        `${this.system}: polling needs WARDEN_TICKETS_${this.system.toUpperCase()}_URL (shadow mode has no system to poll)`,
      ),
    );
  }
}

/** The connector for a system: live when its URL is configured, shadow otherwise. */
export function createConnector(system: TicketSystem, settings: ItsmSettings): ItsmConnector {
  if (system === 'servicenow')
    return settings.servicenow.url
      ? new ServiceNowConnector(settings)
      : new ShadowConnector(system, settings.outboxDir);
  return settings.jira.url ? new JiraConnector(settings) : new ShadowConnector(system, settings.outboxDir);
}
