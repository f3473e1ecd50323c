import crypto from 'node:crypto';
import { startJsonServer } from './fake-http';
import type { FakeHttpResponse, FakeHttpServer } from './fake-http';

/** A sys_user row of the fake instance. */
export interface FakeSnUser {
  sys_id: string;
  user_name: string;
  name: string;
  email: string;
}

/** A journal entry (work note or additional comment). */
export interface FakeSnJournalEntry {
  element: 'work_notes' | 'comments';
  value: string;
  sys_created_on: string;
}

/** A fake ServiceNow instance speaking the Table API for incidents (what Warden's connector uses). */
export interface FakeServiceNow extends FakeHttpServer {
  /** `user:password` pairs accepted by basic auth. */
  basic: Set<string>;
  /** OAuth access tokens accepted as bearer. */
  bearer: Set<string>;
  incidents: Map<string, Record<string, string>>;
  users: Map<string, FakeSnUser>;
  /** Assignment groups by name → sys_id. */
  groups: Map<string, string>;
  journal: Map<string, FakeSnJournalEntry[]>;
  requests: Array<{ method: string; path: string; query: Record<string, string>; body?: unknown }>;
  /** Every PATCH that changed an incident, in order. */
  updates: Array<{ sysId: string; fields: Record<string, string> }>;
  addUser(userName: string, email: string, name?: string): string;
  /** Adds an incident; `createdOn` is `YYYY-MM-DD HH:mm:ss` UTC. Returns its sys_id. */
  addIncident(fields: Partial<Record<string, string>> & { short_description: string; caller_id: string }): string;
  failNext(n: number, status?: number): void;
}

const snError = (status: number, message: string, detail: string | null): FakeHttpResponse => ({
  status,
  json: { error: { message, detail }, status: 'failure' },
});
const STATE_LABELS: Record<string, string> = {
  '1': 'New',
  '2': 'In Progress',
  '3': 'On Hold',
  '6': 'Resolved',
  '7': 'Closed',
};

/** `YYYY-MM-DD HH:mm:ss` UTC, ServiceNow's stored date-time form. */
export function snNow(offsetMs = 0): string {
  return new Date(Date.now() + offsetMs).toISOString().replace('T', ' ').slice(0, 19);
}

type Cond = (row: Record<string, string>) => boolean;
/** The encoded-query subset the connector sends: ^ (and), ^NQ (or of groups), ORDERBY, comparison ops. */
function parseQuery(q: string): { match: Cond; order: string[] } {
  const order: string[] = [];
  const groups = q.split('^NQ').map((g) => {
    const conds: Cond[] = [];
    for (const part of g.split('^').filter(Boolean)) {
      if (part.startsWith('ORDERBY')) {
        order.push(part.slice(7));
        continue;
      }
      const m = /^([a-z_.]+?)(>=|<=|!=|>|<|=|LIKE|ISEMPTY|ISNOTEMPTY)(.*)$/.exec(part);
      if (!m) throw new Error(`unsupported query term ${part}`);
      const [, field, op, value] = m as unknown as [string, string, string, string];
      conds.push((row) => {
        const v = row[field] ?? '';
        switch (op) {
          case '>=':
            return v >= value;
          case '<=':
            return v <= value;
          case '>':
            return v > value;
          case '<':
            return v < value;
          case '!=':
            return v !== value;
          case 'LIKE':
            return v.includes(value);
          case 'ISEMPTY':
            return v === '';
          case 'ISNOTEMPTY':
            return v !== '';
          default:
            return v === value;
        }
      });
    }
    return (row: Record<string, string>) => conds.every((c) => c(row));
  });
  return { match: (row) => groups.some((g) => g(row)), order };
}

/** Starts a fake ServiceNow instance on loopback. `credential` is a valid `user:password`. */
export async function startFakeServiceNow(credential = 'warden.integration:sn-pass-0000'): Promise<FakeServiceNow> {
  let failures = { n: 0, status: 429 };
  const state = {
    basic: new Set([credential]),
    bearer: new Set<string>(),
    incidents: new Map<string, Record<string, string>>(),
    users: new Map<string, FakeSnUser>(),
    groups: new Map<string, string>([
      ['Service Desk', crypto.randomBytes(16).toString('hex')],
      ['Desktop Support', crypto.randomBytes(16).toString('hex')],
      ['Network', crypto.randomBytes(16).toString('hex')],
      ['Identity & Access', crypto.randomBytes(16).toString('hex')],
      ['Security Operations', crypto.randomBytes(16).toString('hex')],
      ['Collaboration', crypto.randomBytes(16).toString('hex')],
    ]),
    journal: new Map<string, FakeSnJournalEntry[]>(),
    requests: [] as FakeServiceNow['requests'],
    updates: [] as FakeServiceNow['updates'],
  };
  let seq = 10000;

  const view = (row: Record<string, string>, fields: string[] | undefined, display: boolean) => {
    const caller = state.users.get(row.caller_id ?? '');
    const full: Record<string, unknown> = {
      ...row,
      'caller_id.email': caller?.email ?? '',
      'caller_id.name': caller?.name ?? '',
      'caller_id.user_name': caller?.user_name ?? '',
    };
    if (display) {
      full.state = STATE_LABELS[row.state ?? ''] ?? row.state;
      for (const element of ['work_notes', 'comments'] as const)
        full[element] = (state.journal.get(row.sys_id ?? '') ?? [])
          .filter((e) => e.element === element)
          .reverse()
          .map(
            (e) =>
              `${e.sys_created_on} - Warden Integration (${element === 'work_notes' ? 'Work notes' : 'Additional comments'})\n${e.value}\n\n`,
          )
          .join('');
    } else {
      full.work_notes = '';
      full.comments = '';
    }
    return fields ? Object.fromEntries(fields.map((f) => [f, full[f] ?? ''])) : full;
  };

  const server = await startJsonServer((req) => {
    const query = Object.fromEntries(req.url.searchParams.entries());
    let body: unknown;
    try {
      body = req.body ? JSON.parse(req.body) : undefined;
    } catch {
      return snError(400, 'Exception while reading request', 'The payload is not valid JSON.');
    }
    state.requests.push({ method: req.method, path: req.url.pathname, query, body });
    if (failures.n > 0) {
      failures.n--;
      return failures.status === 429
        ? { ...snError(429, 'Rate limit exceeded', null), headers: { 'retry-after': '1' } }
        : snError(failures.status, 'Internal server error', null);
    }
    const auth = String(req.headers.authorization ?? '');
    const basic = /^Basic (.+)$/.exec(auth)?.[1];
    const ok = basic
      ? state.basic.has(Buffer.from(basic, 'base64').toString('utf8'))
      : state.bearer.has(/^Bearer (.+)$/.exec(auth)?.[1] ?? '');
    if (!ok) return snError(401, 'User Not Authenticated', 'Required to provide Auth information');

    const m = /^\/api\/now\/table\/incident(?:\/([^/]+))?$/.exec(req.url.pathname);
    if (!m) return snError(400, 'Invalid table', null);
    const fields = query.sysparm_fields ? query.sysparm_fields.split(',') : undefined;
    const display = query.sysparm_display_value === 'true';
    if (!m[1]) {
      if (req.method !== 'GET') return snError(405, 'Method not Supported', null);
      const { match, order } = parseQuery(query.sysparm_query ?? '');
      const rows = [...state.incidents.values()].filter(match);
      rows.sort((a, b) => {
        for (const f of order) {
          const c = (a[f] ?? '').localeCompare(b[f] ?? '');
          if (c) return c;
        }
        return 0;
      });
      const offset = Number(query.sysparm_offset ?? 0);
      const limit = Number(query.sysparm_limit ?? 10000);
      const page = rows.slice(offset, offset + limit);
      return {
        status: 200,
        headers: { 'x-total-count': String(rows.length) },
        json: { result: page.map((r) => view(r, fields, display)) },
      };
    }
    const row = state.incidents.get(decodeURIComponent(m[1]));
    if (!row) return snError(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
    if (req.method === 'GET') return { status: 200, json: { result: view(row, fields, display) } };
    if (req.method !== 'PATCH' && req.method !== 'PUT') return snError(405, 'Method not Supported', null);
    const patch = (body ?? {}) as Record<string, string>;
    const next = { ...row };
    for (const [k, v] of Object.entries(patch)) {
      if (k === 'work_notes' || k === 'comments') continue;
      if (k === 'assignment_group' && query.sysparm_input_display_value === 'true') {
        const g = state.groups.get(v);
        if (g) next.assignment_group = g;
        continue;
      }
      next[k] = String(v);
    }
    if (next.state === '6' && row.state !== '6' && (!next.close_code || !next.close_notes))
      return snError(
        403,
        'Operation Failed',
        'Data Policy Exception: \n Resolution code, Resolution notes are mandatory',
      );
    const at = snNow();
    for (const element of ['work_notes', 'comments'] as const) {
      if (typeof patch[element] === 'string' && patch[element] !== '') {
        const list = state.journal.get(row.sys_id!) ?? [];
        list.push({ element, value: patch[element], sys_created_on: at });
        state.journal.set(row.sys_id!, list);
      }
    }
    if (next.state === '6') next.active = 'true';
    next.sys_updated_on = at;
    state.incidents.set(row.sys_id!, next);
    state.updates.push({ sysId: row.sys_id!, fields: patch });
    return { status: 200, json: { result: view(next, fields, false) } };
  });

  return Object.assign(state, server, {
    addUser(userName: string, email: string, name = userName) {
      const sysId = crypto.randomBytes(16).toString('hex');
      state.users.set(sysId, { sys_id: sysId, user_name: userName, name, email });
      return sysId;
    },
    addIncident(fields: Partial<Record<string, string>> & { short_description: string; caller_id: string }) {
      const sysId = fields.sys_id ?? crypto.randomBytes(16).toString('hex');
      const created = fields.sys_created_on ?? snNow(-10 * 60_000);
      state.incidents.set(sysId, {
        sys_id: sysId,
        number: `INC00${seq++}`,
        description: '',
        state: '1',
        active: 'true',
        priority: '4',
        category: 'inquiry',
        contact_type: 'self-service',
        opened_by: fields.caller_id,
        assignment_group: '',
        assigned_to: '',
        close_code: '',
        close_notes: '',
        sys_created_on: created,
        sys_updated_on: created,
        ...(fields as Record<string, string>),
      });
      return sysId;
    },
    failNext(n: number, status = 429) {
      failures = { n, status };
    },
  });
}
