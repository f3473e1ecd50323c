import { JiraClient } from '../../../../src/usecases/ticket-triage/connectors/jira';
import { JiraConnector, pollJql, queueLabel } from '../../../../src/usecases/ticket-triage/connectors/jira-connector';
import type { ItsmSettings } from '../../../../src/usecases/ticket-triage/connectors/itsm';
import { DEFAULT_VERIFICATION } from '../../../../src/usecases/ticket-triage/connectors/normalize';
import { VendorRefusedError } from '../../../../src/tools/containment/vendor-http';
import type { FakeJira } from '../../../harness/fake-jira';
import { startFakeJira } from '../../../harness/fake-jira';
import { testToolContext } from '../../../harness/tool-context';

const CRED = 'warden@example.com:jira-token-0000';

function settings(url: string, jql?: string): ItsmSettings {
  return {
    servicenow: { url: undefined, auth: 'basic', filter: '', closeCode: 'x' },
    jira: { url, jql, doneTransition: undefined },
    verification: DEFAULT_VERIFICATION,
    outboxDir: '/nonexistent',
  };
}

describe('Jira Service Management connector', () => {
  let jira: FakeJira;
  let lee: string;
  beforeEach(async () => {
    jira = await startFakeJira(CRED);
    lee = jira.addUser('lee@example.com');
  });
  afterEach(() => jira.close());
  const ctx = (key = 'ticket-jira-1/step/0') => testToolContext({ jira: CRED }, { idempotencyKey: key });

  it('reads an issue (v3, ADF description) with its reporter as a verified requester', async () => {
    const issue = jira.addIssue({
      summary: 'Laptop broken',
      description: 'Screen cracked.\nHalf black.',
      reporter: lee,
    });
    const { ctx: c, credentialCalls } = ctx();
    const t = await new JiraConnector(settings(jira.url)).get(c, issue.key);
    expect(t).toMatchObject({
      system: 'jira',
      id: issue.id,
      number: issue.key,
      subject: 'Laptop broken',
      description: 'Screen cracked.\nHalf black.',
      status: 'Waiting for support',
      requester: { id: lee, email: 'lee@example.com', verified: true },
      url: `${jira.url}/browse/${issue.key}`,
    });
    expect(credentialCalls).toEqual([{ provider: 'jira', scopes: ['issue:read'] }]);
    expect(jira.requests[0]).toMatchObject({ method: 'GET', path: `/rest/api/3/issue/${issue.key}` });
  });

  it('finds a hidden reporter email through the Service Management request, and does not verify customers or on-behalf requests', async () => {
    jira.hideEmails = true;
    const customer = jira.addUser('guest@example.org', 'customer');
    const agent = jira.addUser('agent@example.com');
    const a = jira.addIssue({ summary: 'x', reporter: lee });
    const b = jira.addIssue({ summary: 'x', reporter: customer });
    const c = jira.addIssue({ summary: 'x', reporter: lee, creator: agent });
    const conn = new JiraConnector(settings(jira.url));
    expect((await conn.get(ctx().ctx, a.key)).requester).toMatchObject({ email: 'lee@example.com', verified: true });
    expect(jira.requests.map((r) => r.path)).toContain(`/rest/servicedeskapi/request/${a.key}`);
    expect((await conn.get(ctx().ctx, b.key)).requester).toMatchObject({
      verified: false,
      reason: expect.stringMatching(/"customer"/),
    });
    expect((await conn.get(ctx().ctx, c.key)).requester).toMatchObject({
      verified: false,
      reason: expect.stringMatching(/behalf/),
    });
  });

  it('posts internal and public comments once each under retries (Service Management API)', async () => {
    const issue = jira.addIssue({ summary: 'x', reporter: lee });
    const conn = new JiraConnector(settings(jira.url));
    const key = { id: issue.id, number: issue.key };
    const r = [
      await conn.comment(ctx('run/note/0').ctx, key, 'case', 'internal'),
      await conn.comment(ctx('run/note/0').ctx, key, 'case', 'internal'),
      await conn.comment(ctx('run/reply/0').ctx, key, 'hello', 'public'),
    ];
    expect(r.map((x) => x.applied)).toEqual([true, false, true]);
    expect(jira.comments.get(issue.id)!.map((c) => c.public)).toEqual([false, true]);
    const post = jira.requests.find((q) => q.method === 'POST')!;
    expect(post).toMatchObject({ path: `/rest/servicedeskapi/request/${issue.key}/comment`, body: { public: false } });
  });

  it('routes by queue label and assignee, and resolves through the done transition exactly once', async () => {
    const issue = jira.addIssue({ summary: 'x', reporter: lee });
    const conn = new JiraConnector(settings(jira.url));
    const key = { id: issue.id, number: issue.key };
    await conn.assign(ctx().ctx, key, { queue: 'Desktop Support', assignee: lee });
    await conn.assign(ctx().ctx, key, { queue: 'Desktop Support' });
    expect(issue.labels).toEqual(['desktop-support']);
    expect(issue.assignee).toBe(lee);
    const a = await conn.resolve(ctx('run/resolve/0').ctx, key, { reply: 'Fixed', closeNotes: 'n' });
    const b = await conn.resolve(ctx('run/resolve/0').ctx, key, { reply: 'Fixed', closeNotes: 'n' });
    expect([a.applied, b.applied]).toEqual([true, false]);
    expect(jira.transitions).toEqual([{ key: issue.key, to: 'Resolved' }]);
    expect(jira.comments.get(issue.id)!.filter((c) => c.public)).toHaveLength(1);
    expect(queueLabel(' Identity & Access ')).toBe('identity-access');
  });

  it('polls by issue id after the cursor, oldest first, leaving issues younger than the settle time', async () => {
    const old = [1, 2, 3].map(() => jira.addIssue({ summary: 'x', reporter: lee, created: Date.now() - 5 * 60_000 }));
    jira.addIssue({ summary: 'fresh', reporter: lee, created: Date.now() });
    const conn = new JiraConnector(settings(jira.url, 'project = ITSD'));
    const w = { limit: 2, settleSeconds: 60, lookbackMinutes: 60 };
    const p1 = await conn.listNew(ctx().ctx, null, w);
    const p2 = await conn.listNew(ctx().ctx, { createdAt: p1[1]!.createdAt, id: p1[1]!.id }, w);
    const p3 = await conn.listNew(ctx().ctx, { createdAt: p2[0]!.createdAt, id: p2[0]!.id }, w);
    expect([...p1, ...p2].map((t) => t.number)).toEqual(old.map((i) => i.key));
    expect(p3).toEqual([]);
    expect(pollJql('project = ITSD', { createdAt: 'x', id: '10042' }, w)).toBe(
      '(project = ITSD) AND id > 10042 AND created <= "-1m" ORDER BY id ASC',
    );
    await expect(new JiraConnector(settings(jira.url)).listNew(ctx().ctx, null, w)).rejects.toThrow(
      /WARDEN_TICKETS_JIRA_JQL/,
    );
  });

  it('says what Jira said: 401 names the secret, 404 the issue, field errors by field; never echoes the token', async () => {
    const client = new JiraClient({ baseUrl: jira.url });
    const signal = new AbortController().signal;
    const bad = client.getIssue({ credential: 'warden@example.com:wrong-token', signal }, 'ITSD-1');
    await expect(bad).rejects.toBeInstanceOf(VendorRefusedError);
    await expect(bad).rejects.toThrow(/401 \(You are not authenticated.*jira\.api_token/);
    await expect(bad).rejects.not.toThrow(/wrong-token/);
    await expect(client.getIssue({ credential: CRED, signal }, 'ITSD-99')).rejects.toThrow(
      /404 \(Issue does not exist/,
    );
    const issue = jira.addIssue({ summary: 'x', reporter: lee });
    await expect(client.assign({ credential: CRED, signal }, issue.key, 'nobody')).rejects.toThrow(
      /assignee: User 'nobody' cannot be assigned/,
    );
    await expect(client.getIssue({ credential: 'not-an-email-pair', signal }, 'ITSD-1')).rejects.toThrow(
      /email:api_token/,
    );
  });
});
