import { z } from 'zod';
import {
  DEFAULT_VENDOR_TIMEOUT_MS,
  VendorError,
  errorForStatus,
  vendorFetch,
} from '../../../tools/containment/vendor-http';
import type { VendorRequest } from '../../../tools/containment/vendor-http';
import { ToolRefusedError } from '../../../tools/types';

/** How Warden authenticates to ServiceNow: basic (`user:password` in the secret) or an OAuth bearer token. */
export type ServiceNowAuth = 'basic' | 'bearer';

/** What one ServiceNow call needs besides its arguments: the leased secret and the activity's signal. */
export interface ServiceNowCall {
  /** `user:password` (basic) or an OAuth access token (bearer): the secret `servicenow.api_token`. */
  credential: string;
  signal: AbortSignal;
}

/** Where and how: from WARDEN_TICKETS_SERVICENOW_URL and WARDEN_TICKETS_SERVICENOW_AUTH. */
export interface ServiceNowClientOptions {
  /** Instance URL, e.g. https://acme.service-now.com */
  baseUrl: string;
  auth: ServiceNowAuth;
  /** @default 15000 */
  timeoutMs?: number;
}

/** A Table API record: field name → value (`sysparm_display_value=false`, reference links excluded). */
export type ServiceNowRecord = Record<string, unknown>;

/** ServiceNow's error body: `{ error: { message, detail }, status: "failure" }`. */
const ServiceNowErrorBody = z
  .object({ error: z.object({ message: z.string().optional(), detail: z.string().nullable().optional() }).loose() })
  .loose();
const ResultList = z.object({ result: z.array(z.record(z.string(), z.unknown())) });
const ResultOne = z.object({ result: z.record(z.string(), z.unknown()) });

/** The incident fields Warden reads (dot-walked caller fields give the requester without a second call). */
export const INCIDENT_FIELDS = [
  'sys_id',
  'number',
  'short_description',
  'description',
  'state',
  'active',
  'priority',
  'category',
  'contact_type',
  'caller_id',
  'caller_id.email',
  'caller_id.name',
  'caller_id.user_name',
  'opened_by',
  'sys_created_on',
  'sys_updated_on',
] as const;

/** A page of incidents for a poll. */
export interface IncidentQuery {
  /** Encoded query (`active=true^sys_created_on>2024-01-01 00:00:00^ORDERBYsys_created_on`). */
  query: string;
  limit: number;
  offset?: number;
  fields?: readonly string[];
}

/**
 * A small ServiceNow Table API client for incidents: list with an encoded query, read one by sys_id, PATCH
 * fields (work notes, comments, assignment, resolution), and read an incident's journal. Errors become a
 * retryable `VendorError` (429, 5xx, network) or a `VendorRefusedError` (other 4xx) naming ServiceNow's own
 * message; nothing is retried here.
 */
export class ServiceNowClient {
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(private readonly options: ServiceNowClientOptions) {
    this.base = new URL(options.baseUrl.replace(/\/+$/, '') + '/');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
  }

  /** The instance host, for messages. */
  get host(): string {
    return this.base.host;
  }

  /** A link to an incident for humans. */
  incidentUrl(sysId: string): string {
    return new URL(`nav_to.do?uri=incident.do?sys_id=${encodeURIComponent(sysId)}`, this.base).href;
  }

  /** `GET /api/now/table/incident` with `sysparm_query`, `sysparm_limit`, `sysparm_offset`, `sysparm_fields`. */
  async listIncidents(call: ServiceNowCall, q: IncidentQuery): Promise<ServiceNowRecord[]> {
    const json = await this.request(call, 'incident list', 'GET', 'incident', {
      sysparm_query: q.query,
      sysparm_limit: String(q.limit),
      sysparm_offset: String(q.offset ?? 0),
      sysparm_fields: (q.fields ?? INCIDENT_FIELDS).join(','),
      sysparm_exclude_reference_link: 'true',
    });
    const parsed = ResultList.safeParse(json);
    if (!parsed.success) throw this.malformed('incident list');
    return parsed.data.result;
  }

  /** `GET /api/now/table/incident/{sys_id}`. @throws VendorRefusedError (404) when there is no such incident. */
  async getIncident(call: ServiceNowCall, sysId: string, fields: readonly string[] = INCIDENT_FIELDS) {
    const json = await this.request(call, `incident ${sysId}`, 'GET', `incident/${encodeURIComponent(sysId)}`, {
      sysparm_fields: fields.join(','),
      sysparm_exclude_reference_link: 'true',
    });
    const parsed = ResultOne.safeParse(json);
    if (!parsed.success) throw this.malformed(`incident ${sysId}`);
    return parsed.data.result;
  }

  /**
   * The incident's journal as ServiceNow displays it (work notes and additional comments, newest first), to
   * find a marker Warden wrote before; `sysparm_display_value=true` turns the journal fields into their text.
   */
  async getJournal(call: ServiceNowCall, sysId: string): Promise<string> {
    const json = await this.request(call, `journal of ${sysId}`, 'GET', `incident/${encodeURIComponent(sysId)}`, {
      sysparm_fields: 'work_notes,comments',
      sysparm_display_value: 'true',
    });
    const parsed = ResultOne.safeParse(json);
    if (!parsed.success) throw this.malformed(`journal of ${sysId}`);
    const { work_notes: notes, comments } = parsed.data.result;
    return `${typeof notes === 'string' ? notes : ''}\n${typeof comments === 'string' ? comments : ''}`;
  }

  /**
   * `PATCH /api/now/table/incident/{sys_id}`: sets fields (`work_notes` and `comments` append to the
   * journal). With `byDisplayValue`, reference fields such as `assignment_group` take names
   * (`sysparm_input_display_value=true`) instead of sys_ids.
   */
  async updateIncident(
    call: ServiceNowCall,
    sysId: string,
    fields: Record<string, string>,
    opts: { byDisplayValue?: boolean } = {},
  ): Promise<ServiceNowRecord> {
    const json = await this.request(
      call,
      `update of incident ${sysId}`,
      'PATCH',
      `incident/${encodeURIComponent(sysId)}`,
      {
        sysparm_exclude_reference_link: 'true',
        sysparm_fields: INCIDENT_FIELDS.join(','),
        ...(opts.byDisplayValue ? { sysparm_input_display_value: 'true' } : {}),
      },
      fields,
    );
    const parsed = ResultOne.safeParse(json);
    if (!parsed.success) throw this.malformed(`update of incident ${sysId}`);
    return parsed.data.result;
  }

  private malformed(operation: string): VendorError {
    return new VendorError(`servicenow: ${operation}: the answer is not a Table API { result } envelope`, {
      vendor: 'servicenow',
    });
  }

  private authorization(credential: string): string {
    const secret = credential.trim();
    if (secret === '' || /[\r\n]/.test(secret))
      throw new ToolRefusedError(
        'servicenow: the secret servicenow.api_token is empty or spans lines; store `user:password` (basic) or the bare OAuth token (bearer)',
      );
    if (this.options.auth === 'bearer') return `Bearer ${secret}`;
    if (!secret.includes(':'))
      throw new ToolRefusedError(
        'servicenow: basic auth needs the secret servicenow.api_token as `user:password`; for an OAuth token set WARDEN_TICKETS_SERVICENOW_AUTH=bearer',
      );
    return `Basic ${Buffer.from(secret, 'utf8').toString('base64')}`;
  }

  private async request(
    call: ServiceNowCall,
    operation: string,
    method: VendorRequest['method'],
    path: string,
    query: Record<string, string>,
    body?: unknown,
  ): Promise<unknown> {
    const authorization = this.authorization(call.credential);
    const url = new URL(`api/now/table/${path}`, this.base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const req: VendorRequest = {
      vendor: 'servicenow',
      operation,
      method,
      url,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: call.signal,
      timeoutMs: this.timeoutMs,
      secrets: [call.credential.trim(), authorization.replace(/^\w+ /, '')],
    };
    const res = await vendorFetch(req);
    if (res.status >= 200 && res.status < 300) return res.json;
    const parsed = ServiceNowErrorBody.safeParse(res.json);
    const err = parsed.success ? parsed.data.error : {};
    const summary = [err.message, err.detail].filter(Boolean).join(': ');
    throw errorForStatus(req, res, {
      ...(summary ? { summary } : {}),
      hint:
        res.status === 401
          ? `ServiceNow (${this.host}) rejected the credentials: check the secret servicenow.api_token and WARDEN_TICKETS_SERVICENOW_AUTH`
          : res.status === 403
            ? 'the integration user lacks a role or ACL for this (itil, or read/write on incident)'
            : res.status === 404
              ? `ServiceNow (${this.host}) has no such record, or an ACL hides it`
              : undefined,
    });
  }
}
