import { z } from 'zod';
import {
  DEFAULT_VENDOR_TIMEOUT_MS,
  VendorError,
  errorForStatus,
  vendorFetch,
} from '../../../tools/containment/vendor-http';
import type { VendorRequest } from '../../../tools/containment/vendor-http';
import { ToolRefusedError } from '../../../tools/types';

// vendor-http's method type predates PUT; Node's fetch sends any method (the core could add 'PUT').
const PUT = 'PUT' as VendorRequest['method'];

/** What one Jira call needs besides its arguments: the leased secret and the activity's signal. */
export interface JiraCall {
  /** `email:api_token` (the secret `jira.api_token`), sent as basic auth. */
  credential: string;
  signal: AbortSignal;
}

/** Where: from WARDEN_TICKETS_JIRA_URL. */
export interface JiraClientOptions {
  /** Site URL, e.g. https://acme.atlassian.net */
  baseUrl: string;
  /** @default 15000 */
  timeoutMs?: number;
}

/** A Jira issue as the REST API v3 returns it (fields as requested). */
export const JiraIssue = z
  .object({ id: z.string(), key: z.string(), fields: z.record(z.string(), z.unknown()).default({}) })
  .loose();
/** A Jira issue. */
export type JiraIssue = z.infer<typeof JiraIssue>;

/** A workflow transition available on an issue (`GET .../transitions`). */
export const JiraTransition = z
  .object({
    id: z.string(),
    name: z.string(),
    to: z
      .object({ name: z.string(), statusCategory: z.object({ key: z.string() }).loose().optional() })
      .loose()
      .optional(),
  })
  .loose();
/** A workflow transition. */
export type JiraTransition = z.infer<typeof JiraTransition>;

/** A Service Management comment (`/rest/servicedeskapi/request/{key}/comment`). */
const JsmComment = z.object({ id: z.string(), body: z.string(), public: z.boolean() }).loose();
/** A Service Management comment. */
export type JsmComment = z.infer<typeof JsmComment>;

/** Jira platform errors: `{ errorMessages: [], errors: { field: msg } }`; Service Management: `{ errorMessage }`. */
const JiraErrorBody = z
  .object({
    errorMessages: z.array(z.string()).optional(),
    errors: z.record(z.string(), z.string()).optional(),
    errorMessage: z.string().optional(),
  })
  .loose();

/** The issue fields Warden reads. */
export const ISSUE_FIELDS = [
  'summary',
  'description',
  'status',
  'priority',
  'issuetype',
  'labels',
  'reporter',
  'creator',
  'created',
  'updated',
  'resolution',
] as const;

/**
 * A small Jira Cloud client: the platform REST API v3 (issues, enhanced JQL search, transitions, assignee,
 * labels) and the Service Management API (customer-visible or internal comments, the request's reporter).
 * Basic auth with `email:api_token`. Errors become a retryable `VendorError` (429, 5xx, network) or a
 * `VendorRefusedError` (other 4xx) carrying Jira's own messages; nothing is retried here.
 */
export class JiraClient {
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(options: JiraClientOptions) {
    this.base = new URL(options.baseUrl.replace(/\/+$/, '') + '/');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
  }

  /** The site host, for messages. */
  get host(): string {
    return this.base.host;
  }

  /** A link to an issue for humans. */
  browseUrl(key: string): string {
    return new URL(`browse/${encodeURIComponent(key)}`, this.base).href;
  }

  /** `GET /rest/api/3/issue/{idOrKey}`. @throws VendorRefusedError (404) when it does not exist or is hidden. */
  async getIssue(call: JiraCall, idOrKey: string): Promise<JiraIssue> {
    const json = await this.request(
      call,
      `issue ${idOrKey}`,
      'GET',
      `rest/api/3/issue/${encodeURIComponent(idOrKey)}`,
      {
        fields: ISSUE_FIELDS.join(','),
      },
    );
    return this.parse(JiraIssue, json, `issue ${idOrKey}`);
  }

  /** `GET /rest/api/3/search/jql` (enhanced search, token-paged): one page of issues in JQL order. */
  async searchIssues(
    call: JiraCall,
    jql: string,
    opts: { maxResults: number; nextPageToken?: string },
  ): Promise<{ issues: JiraIssue[]; nextPageToken: string | undefined }> {
    const json = await this.request(call, 'issue search', 'GET', 'rest/api/3/search/jql', {
      jql,
      fields: ISSUE_FIELDS.join(','),
      maxResults: String(opts.maxResults),
      ...(opts.nextPageToken ? { nextPageToken: opts.nextPageToken } : {}),
    });
    const page = this.parse(
      z.object({ issues: z.array(JiraIssue), nextPageToken: z.string().optional() }).loose(),
      json,
      'issue search',
    );
    return { issues: page.issues, nextPageToken: page.nextPageToken };
  }

  /** The reporter's email from the Service Management request (issue fields hide it under privacy settings). */
  async getRequestReporterEmail(call: JiraCall, idOrKey: string): Promise<string | undefined> {
    const json = await this.request(
      call,
      `request ${idOrKey}`,
      'GET',
      `rest/servicedeskapi/request/${encodeURIComponent(idOrKey)}`,
    );
    const req = z
      .object({ reporter: z.object({ emailAddress: z.string().optional() }).loose().optional() })
      .loose()
      .safeParse(json);
    return req.success ? req.data.reporter?.emailAddress : undefined;
  }

  /** Every comment on the request, public and internal (`GET .../request/{key}/comment`), all pages. */
  async listComments(call: JiraCall, idOrKey: string): Promise<JsmComment[]> {
    const out: JsmComment[] = [];
    for (let start = 0; start < 5_000;) {
      const json = await this.request(
        call,
        `comments of ${idOrKey}`,
        'GET',
        `rest/servicedeskapi/request/${encodeURIComponent(idOrKey)}/comment`,
        { public: 'true', internal: 'true', start: String(start), limit: '100' },
      );
      const page = this.parse(
        z
          .object({ values: z.array(JsmComment), isLastPage: z.boolean().default(true), size: z.number().optional() })
          .loose(),
        json,
        `comments of ${idOrKey}`,
      );
      out.push(...page.values);
      if (page.isLastPage || page.values.length === 0) break;
      start += page.values.length;
    }
    return out;
  }

  /** `POST /rest/servicedeskapi/request/{key}/comment`: `public: false` is an internal note agents alone see. */
  async addComment(call: JiraCall, idOrKey: string, body: string, isPublic: boolean): Promise<JsmComment> {
    const json = await this.request(
      call,
      `comment on ${idOrKey}`,
      'POST',
      `rest/servicedeskapi/request/${encodeURIComponent(idOrKey)}/comment`,
      {},
      { body, public: isPublic },
    );
    return this.parse(JsmComment, json, `comment on ${idOrKey}`);
  }

  /** `GET /rest/api/3/issue/{key}/transitions`: the transitions the credential's user may make now. */
  async getTransitions(call: JiraCall, idOrKey: string): Promise<JiraTransition[]> {
    const json = await this.request(
      call,
      `transitions of ${idOrKey}`,
      'GET',
      `rest/api/3/issue/${encodeURIComponent(idOrKey)}/transitions`,
    );
    return this.parse(z.object({ transitions: z.array(JiraTransition) }).loose(), json, `transitions of ${idOrKey}`)
      .transitions;
  }

  /** `POST /rest/api/3/issue/{key}/transitions` with `{ transition: { id } }` (204). */
  async transition(call: JiraCall, idOrKey: string, transitionId: string): Promise<void> {
    await this.request(
      call,
      `transition of ${idOrKey}`,
      'POST',
      `rest/api/3/issue/${encodeURIComponent(idOrKey)}/transitions`,
      {},
      {
        transition: { id: transitionId },
      },
    );
  }

  /** `PUT /rest/api/3/issue/{key}/assignee` with `{ accountId }` (null unassigns). */
  async assign(call: JiraCall, idOrKey: string, accountId: string | null): Promise<void> {
    await this.request(
      call,
      `assignment of ${idOrKey}`,
      PUT,
      `rest/api/3/issue/${encodeURIComponent(idOrKey)}/assignee`,
      {},
      {
        accountId,
      },
    );
  }

  /** `PUT /rest/api/3/issue/{key}` adding labels (`update.labels[].add`), e.g. the queue a JSM queue filters on. */
  async addLabels(call: JiraCall, idOrKey: string, labels: string[]): Promise<void> {
    await this.request(
      call,
      `labels of ${idOrKey}`,
      PUT,
      `rest/api/3/issue/${encodeURIComponent(idOrKey)}`,
      {},
      {
        update: { labels: labels.map((add) => ({ add })) },
      },
    );
  }

  private parse<T extends z.ZodType>(schema: T, json: unknown, operation: string): z.output<T> {
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new VendorError(`jira: ${operation}: the answer is not in Jira's format`, { vendor: 'jira' });
    return parsed.data;
  }

  private async request(
    call: JiraCall,
    operation: string,
    method: VendorRequest['method'],
    path: string,
    query: Record<string, string> = {},
    body?: unknown,
  ): Promise<unknown> {
    const secret = call.credential.trim();
    if (!/^[^\s:]+@[^\s:]+:\S+$/.test(secret))
      throw new ToolRefusedError(
        'jira: the secret jira.api_token must be `email:api_token` (the Atlassian account email and an API token)',
      );
    const token = Buffer.from(secret, 'utf8').toString('base64');
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const req: VendorRequest = {
      vendor: 'jira',
      operation,
      method,
      url,
      headers: {
        authorization: `Basic ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: call.signal,
      timeoutMs: this.timeoutMs,
      secrets: [secret, token, secret.slice(secret.indexOf(':') + 1)],
    };
    const res = await vendorFetch(req);
    if (res.status >= 200 && res.status < 300) return res.json;
    const parsed = JiraErrorBody.safeParse(res.json);
    const err = parsed.success ? parsed.data : {};
    const messages = [
      ...(err.errorMessages ?? []),
      ...Object.entries(err.errors ?? {}).map(([f, m]) => `${f}: ${m}`),
      ...(err.errorMessage ? [err.errorMessage] : []),
    ];
    throw errorForStatus(req, res, {
      ...(messages.length ? { summary: messages.join('; ') } : {}),
      hint:
        res.status === 401
          ? `Jira (${this.host}) rejected the credentials: check the secret jira.api_token (email:api_token)`
          : res.status === 403
            ? 'the account lacks a project permission for this (Service Management agent, Transition, Assign, Edit issues)'
            : res.status === 404
              ? `Jira (${this.host}) has no such issue, or the account may not see it`
              : undefined,
    });
  }
}
