import type { ToolContext } from '../../../tools/types';
import type { Ticket } from '../ticket';
import type { ItsmConnector, ItsmSettings, PollCursor, PollWindow, TicketKey, WriteResult } from './itsm';
import { ITSM_CAPABILITIES } from './itsm';
import { wardenRef, withRef } from './marker';
import { normalizeServiceNowIncident } from './normalize';
import { ServiceNowClient } from './servicenow';
import type { ServiceNowCall } from './servicenow';

/** `YYYY-MM-DD HH:mm:ss` (UTC), the form encoded queries compare `sys_created_on` with. */
export function servicenowDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * The encoded query of one poll page: tickets after the cursor in (sys_created_on, sys_id) order — a
 * keyset, so tickets sharing a second are neither skipped nor repeated — older than the settle time.
 * `^NQ` ORs the two halves ("created later" or "created the same second with a greater sys_id").
 */
export function pollQuery(filter: string, cursor: PollCursor | null, window: PollWindow, nowMs: number): string {
  const settled = `sys_created_on<=${servicenowDateTime(nowMs - window.settleSeconds * 1000)}`;
  const f = filter.trim() ? `${filter.trim()}^` : '';
  const order = '^ORDERBYsys_created_on^ORDERBYsys_id';
  if (!cursor) {
    const from = servicenowDateTime(nowMs - window.lookbackMinutes * 60_000);
    return `${f}sys_created_on>=${from}^${settled}${order}`;
  }
  const at = cursor.createdAt.replace('T', ' ').replace(/(\.\d+)?Z$/, '');
  return `${f}sys_created_on>${at}^${settled}^NQ${f}sys_created_on=${at}^sys_id>${cursor.id}^${settled}${order}`;
}

/** ServiceNow incidents through the Table API. */
export class ServiceNowConnector implements ItsmConnector {
  readonly system = 'servicenow' as const;
  readonly live = true;
  private readonly client: ServiceNowClient;

  constructor(private readonly settings: ItsmSettings) {
    this.client = new ServiceNowClient({
      baseUrl: settings.servicenow.url!,
      auth: settings.servicenow.auth,
      ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
    });
  }

  private async call(ctx: ToolContext, kind: 'read' | 'write'): Promise<ServiceNowCall> {
    return { credential: await ctx.credential(ITSM_CAPABILITIES.servicenow[kind]), signal: ctx.signal };
  }

  private normalize(record: Record<string, unknown>): Ticket {
    const id = typeof record.sys_id === 'string' ? record.sys_id : '';
    return normalizeServiceNowIncident(record, this.settings.verification, {
      url: this.client.incidentUrl(id),
      readFrom: 'api',
    });
  }

  async get(ctx: ToolContext, id: string): Promise<Ticket> {
    return this.normalize(await this.client.getIncident(await this.call(ctx, 'read'), id));
  }

  private result(t: TicketKey, operation: WriteResult['operation'], applied: boolean, ref: string): WriteResult {
    return { system: 'servicenow', number: t.number, operation, applied, ref, mode: 'live' };
  }

  async comment(ctx: ToolContext, t: TicketKey, body: string, visibility: 'internal' | 'public') {
    const call = await this.call(ctx, 'write');
    const ref = wardenRef(ctx.idempotencyKey);
    if ((await this.client.getJournal(call, t.id)).includes(ref)) return this.result(t, 'comment', false, ref);
    await this.client.updateIncident(call, t.id, {
      [visibility === 'internal' ? 'work_notes' : 'comments']: withRef(body, ref),
    });
    return this.result(t, 'comment', true, ref);
  }

  async assign(ctx: ToolContext, t: TicketKey, to: { queue?: string; assignee?: string }) {
    const call = await this.call(ctx, 'write');
    const fields: Record<string, string> = {
      ...(to.queue ? { assignment_group: to.queue } : {}),
      ...(to.assignee ? { assigned_to: to.assignee } : {}),
    };
    // Setting a reference to the value it has is a no-op in ServiceNow: the PATCH is idempotent as it is.
    if (Object.keys(fields).length) await this.client.updateIncident(call, t.id, fields, { byDisplayValue: true });
    return this.result(t, 'assign', Object.keys(fields).length > 0, wardenRef(ctx.idempotencyKey));
  }

  async resolve(ctx: ToolContext, t: TicketKey, r: { reply: string; closeNotes: string }) {
    const call = await this.call(ctx, 'write');
    const ref = wardenRef(ctx.idempotencyKey);
    const current = normalizeServiceNowIncident(await this.client.getIncident(call, t.id), this.settings.verification, {
      readFrom: 'api',
    });
    const replied = (await this.client.getJournal(call, t.id)).includes(ref);
    if (current.closed && replied) return this.result(t, 'resolve', false, ref);
    // One PATCH: the customer-visible reply and the resolution land together or not at all.
    await this.client.updateIncident(call, t.id, {
      ...(replied ? {} : { comments: withRef(r.reply, ref) }),
      ...(current.closed
        ? {}
        : { state: '6', close_code: this.settings.servicenow.closeCode, close_notes: withRef(r.closeNotes, ref) }),
    });
    return this.result(t, 'resolve', true, ref);
  }

  async listNew(ctx: ToolContext, cursor: PollCursor | null, window: PollWindow): Promise<Ticket[]> {
    const records = await this.client.listIncidents(await this.call(ctx, 'read'), {
      query: pollQuery(this.settings.servicenow.filter, cursor, window, Date.now()),
      limit: window.limit,
    });
    return records.map((r) => this.normalize(r));
  }
}
