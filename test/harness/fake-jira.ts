import { startJsonServer } from './fake-http';
import type { FakeHttpResponse, FakeHttpServer } from './fake-http';

/** An Atlassian account of the fake site. */
export interface FakeJiraUser {
  accountId: string;
  emailAddress: string;
  displayName: string;
  /** `atlassian` (managed account) or `customer` (a portal-only customer, e.g. created by email). */
  accountType: 'atlassian' | 'customer' | 'app';
}

/** A Service Management comment. */
export interface FakeJiraComment {
  id: string;
  body: string;
  public: boolean;
}

/** An issue of the fake site (what the REST API returns under `fields`). */
export interface FakeJiraIssue {
  id: string;
  key: string;
  summary: string;
  /** Plain text; served as Atlassian Document Format, as API v3 does. */
  description: string;
  status: { name: string; category: 'new' | 'indeterminate' | 'done' };
  reporter: string;
  creator: string;
  assignee: string | null;
  labels: string[];
  priority: string;
  issueType: string;
  /** ms since epoch. */
  created: number;
}

/** A fake Jira Cloud site with Service Management, speaking the REST formats Warden's connector uses. */
export interface FakeJira extends FakeHttpServer {
  /** `email:api_token` pairs accepted by basic auth. */
  credentials: Set<string>;
  users: Map<string, FakeJiraUser>;
  issues: Map<string, FakeJiraIssue>;
  comments: Map<string, FakeJiraComment[]>;
  /** When true, issue fields hide `reporter.emailAddress` (Jira Cloud profile privacy). */
  hideEmails: boolean;
  requests: Array<{ method: string; path: string; query: Record<string, string>; body?: unknown }>;
  /** Transitions performed, in order. */
  transitions: Array<{ key: string; to: string }>;
  addUser(email: string, accountType?: FakeJiraUser['accountType']): string;
  addIssue(i: Partial<FakeJiraIssue> & { summary: string; reporter: string }): FakeJiraIssue;
  failNext(n: number, status?: number): void;
}

const jiraError = (status: number, messages: string[], errors: Record<string, string> = {}): FakeHttpResponse => ({
  status,
  json: { errorMessages: messages, errors },
});
const NOT_FOUND = jiraError(404, ['Issue does not exist or you do not have permission to see it.']);
const TRANSITIONS = [
  { id: '11', name: 'Resolve this issue', to: { name: 'Resolved', statusCategory: { key: 'done' } } },
  { id: '21', name: 'Escalate', to: { name: 'Escalated', statusCategory: { key: 'indeterminate' } } },
];
const adf = (text: string) => ({
  type: 'doc',
  version: 1,
  content: text.split('\n').map((line) => ({ type: 'paragraph', content: line ? [{ type: 'text', text: line }] : [] })),
});

/** The JQL subset the connector sends: project, id >, created relative bounds, ORDER BY id. */
function jqlFilter(jql: string): ((i: FakeJiraIssue) => boolean) | string {
  const body = jql.replace(/ORDER BY id ASC\s*$/i, '').trim();
  const clauses = body.split(/\s+AND\s+/i).map((c) => c.trim().replace(/^\((.*)\)$/, '$1'));
  const tests: ((i: FakeJiraIssue) => boolean)[] = [];
  for (const c of clauses) {
    let m: RegExpExecArray | null;
    if ((m = /^project\s*=\s*"?([A-Z][A-Z0-9]*)"?$/i.exec(c))) {
      const p = m[1]!.toUpperCase();
      tests.push((i) => i.key.startsWith(`${p}-`));
    } else if ((m = /^id\s*>\s*(\d+)$/i.exec(c))) {
      const n = Number(m[1]);
      tests.push((i) => Number(i.id) > n);
    } else if ((m = /^created\s*(>=|<=)\s*"-(\d+)m"$/i.exec(c))) {
      const at = Date.now() - Number(m[2]) * 60_000;
      tests.push(m[1] === '>=' ? (i) => i.created >= at : (i) => i.created <= at);
    } else return `Error in the JQL Query: the clause "${c}" is not supported by this fake.`;
  }
  return (i) => tests.every((t) => t(i));
}

/** Starts a fake Jira Cloud site on loopback; `credential` is a valid `email:api_token`. */
export async function startFakeJira(credential = 'warden@example.com:jira-token-0000'): Promise<FakeJira> {
  let failures = { n: 0, status: 429 };
  let nextId = 10000;
  let nextComment = 500;
  const state = {
    credentials: new Set([credential]),
    users: new Map<string, FakeJiraUser>(),
    issues: new Map<string, FakeJiraIssue>(),
    comments: new Map<string, FakeJiraComment[]>(),
    hideEmails: false,
    requests: [] as FakeJira['requests'],
    transitions: [] as FakeJira['transitions'],
  };
  const find = (idOrKey: string) =>
    state.issues.get(idOrKey) ?? [...state.issues.values()].find((i) => i.key === idOrKey);
  const userJson = (accountId: string | null, hideEmail: boolean) => {
    const u = accountId ? state.users.get(accountId) : undefined;
    if (!u) return null;
    return {
      accountId: u.accountId,
      displayName: u.displayName,
      accountType: u.accountType,
      active: true,
      ...(hideEmail ? {} : { emailAddress: u.emailAddress }),
    };
  };
  const issueJson = (i: FakeJiraIssue) => ({
    id: i.id,
    key: i.key,
    self: `/rest/api/3/issue/${i.id}`,
    fields: {
      summary: i.summary,
      description: adf(i.description),
      status: { name: i.status.name, statusCategory: { key: i.status.category } },
      priority: { name: i.priority },
      issuetype: { name: i.issueType },
      labels: i.labels,
      reporter: userJson(i.reporter, state.hideEmails),
      creator: userJson(i.creator, state.hideEmails),
      assignee: userJson(i.assignee, state.hideEmails),
      created: new Date(i.created).toISOString().replace('Z', '+0000'),
      updated: new Date(i.created).toISOString().replace('Z', '+0000'),
      resolution: i.status.category === 'done' ? { name: 'Done' } : null,
    },
  });

  const server = await startJsonServer((req) => {
    const query = Object.fromEntries(req.url.searchParams.entries());
    let body: unknown;
    try {
      body = req.body ? JSON.parse(req.body) : undefined;
    } catch {
      return jiraError(400, ['Unexpected character in the request body: not valid JSON.']);
    }
    state.requests.push({ method: req.method, path: req.url.pathname, query, body });
    if (failures.n > 0) {
      failures.n--;
      return failures.status === 429
        ? { ...jiraError(429, ['Rate limit exceeded.']), headers: { 'retry-after': '1' } }
        : jiraError(failures.status, ['Internal server error']);
    }
    const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!basic || !state.credentials.has(Buffer.from(basic, 'base64').toString('utf8')))
      return jiraError(401, ['You are not authenticated. Authentication required to perform this operation.']);

    const p = req.url.pathname;
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && p === '/rest/api/3/search/jql') {
      const filter = jqlFilter(query.jql ?? '');
      if (typeof filter === 'string') return jiraError(400, [filter]);
      const all = [...state.issues.values()].filter(filter).sort((a, b) => Number(a.id) - Number(b.id));
      const start = Number(query.nextPageToken ?? 0);
      const max = Number(query.maxResults ?? 50);
      const page = all.slice(start, start + max);
      const more = start + max < all.length;
      return {
        status: 200,
        json: { issues: page.map(issueJson), isLast: !more, ...(more ? { nextPageToken: String(start + max) } : {}) },
      };
    }
    if ((m = /^\/rest\/api\/3\/issue\/([^/]+)(\/transitions|\/assignee)?$/.exec(p))) {
      const issue = find(decodeURIComponent(m[1]!));
      if (!issue) return NOT_FOUND;
      if (!m[2] && req.method === 'GET') return { status: 200, json: issueJson(issue) };
      if (!m[2] && req.method === 'PUT') {
        const adds = ((body as { update?: { labels?: { add?: string }[] } })?.update?.labels ?? []).map((l) => l.add);
        for (const l of adds) if (l && !issue.labels.includes(l)) issue.labels.push(l);
        return { status: 204 };
      }
      if (m[2] === '/transitions' && req.method === 'GET')
        return { status: 200, json: { transitions: issue.status.category === 'done' ? [] : TRANSITIONS } };
      if (m[2] === '/transitions' && req.method === 'POST') {
        const t = TRANSITIONS.find((x) => x.id === (body as { transition?: { id?: string } })?.transition?.id);
        if (!t || issue.status.category === 'done')
          return jiraError(400, [
            `Transition id '${String((body as { transition?: { id?: string } })?.transition?.id)}' is not valid for this issue.`,
          ]);
        issue.status = { name: t.to.name, category: t.to.statusCategory.key as 'done' | 'indeterminate' };
        state.transitions.push({ key: issue.key, to: t.to.name });
        return { status: 204 };
      }
      if (m[2] === '/assignee' && req.method === 'PUT') {
        const accountId = (body as { accountId?: string | null })?.accountId ?? null;
        if (accountId && !state.users.has(accountId))
          return jiraError(400, [], { assignee: `User '${accountId}' cannot be assigned issues.` });
        issue.assignee = accountId;
        return { status: 204 };
      }
      return jiraError(405, ['Method not allowed.']);
    }
    if ((m = /^\/rest\/servicedeskapi\/request\/([^/]+)(\/comment)?$/.exec(p))) {
      const issue = find(decodeURIComponent(m[1]!));
      if (!issue)
        return {
          status: 404,
          json: {
            errorMessage: 'Request does not exist or you do not have permission to see it.',
            i18nErrorMessage: { i18nKey: 'sd.request.not.found', parameters: [] },
          },
        };
      if (!m[2] && req.method === 'GET')
        return {
          status: 200,
          json: {
            issueId: issue.id,
            issueKey: issue.key,
            reporter: userJson(issue.reporter, false),
            currentStatus: { status: issue.status.name },
          },
        };
      const list = state.comments.get(issue.id) ?? [];
      if (req.method === 'GET') {
        const start = Number(query.start ?? 0);
        const limit = Number(query.limit ?? 50);
        const values = list
          .filter((c) => (c.public ? query.public !== 'false' : query.internal !== 'false'))
          .slice(start, start + limit);
        return {
          status: 200,
          json: { size: values.length, start, limit, isLastPage: start + limit >= list.length, values },
        };
      }
      if (req.method === 'POST') {
        const b = body as { body?: unknown; public?: unknown };
        if (typeof b?.body !== 'string' || typeof b.public !== 'boolean')
          return { status: 400, json: { errorMessage: 'body and public are required' } };
        const c = { id: String(nextComment++), body: b.body, public: b.public };
        state.comments.set(issue.id, [...list, c]);
        return { status: 201, json: c };
      }
    }
    return jiraError(404, ['Not found.']);
  });

  return Object.assign(state, server, {
    addUser(email: string, accountType: FakeJiraUser['accountType'] = 'atlassian') {
      const accountId = `5b10ac8d82e05b22cc7d${String(state.users.size).padStart(4, '0')}`;
      state.users.set(accountId, { accountId, emailAddress: email, displayName: email.split('@')[0]!, accountType });
      return accountId;
    },
    addIssue(i: Partial<FakeJiraIssue> & { summary: string; reporter: string }) {
      const id = String(nextId++);
      const issue: FakeJiraIssue = {
        id,
        key: `ITSD-${Number(id) - 9999}`,
        description: '',
        status: { name: 'Waiting for support', category: 'new' },
        creator: i.reporter,
        assignee: null,
        labels: [],
        priority: 'Medium',
        issueType: 'Service Request',
        created: Date.now() - 10 * 60_000,
        ...i,
      };
      state.issues.set(id, issue);
      return issue;
    },
    failNext(n: number, status = 429) {
      failures = { n, status };
    },
  });
}
