import { ServiceNowClient } from '../../../../src/usecases/ticket-triage/connectors/servicenow';
import { ServiceNowConnector, pollQuery } from '../../../../src/usecases/ticket-triage/connectors/servicenow-connector';
import type { ItsmSettings } from '../../../../src/usecases/ticket-triage/connectors/itsm';
import { DEFAULT_VERIFICATION } from '../../../../src/usecases/ticket-triage/connectors/normalize';
import { VendorError, VendorRefusedError } from '../../../../src/tools/containment/vendor-http';
import type { FakeServiceNow } from '../../../harness/fake-servicenow';
import { snNow, startFakeServiceNow } from '../../../harness/fake-servicenow';
import { testToolContext } from '../../../harness/tool-context';

const CRED = 'warden.integration:sn-pass-0000';

function settings(url: string): ItsmSettings {
  return {
    servicenow: { url, auth: 'basic', filter: 'active=true', closeCode: 'Solution provided' },
    jira: { url: undefined, jql: undefined, doneTransition: undefined },
    verification: DEFAULT_VERIFICATION,
    outboxDir: '/nonexistent',
  };
}

describe('ServiceNow connector (Table API)', () => {
  let sn: FakeServiceNow;
  let alice: string;
  beforeEach(async () => {
    sn = await startFakeServiceNow(CRED);
    alice = sn.addUser('alice', 'Alice@Example.com', 'Alice Example');
  });
  afterEach(() => sn.close());

  const ctx = (key = 'ticket-servicenow-x/step/0') => testToolContext({ servicenow: CRED }, { idempotencyKey: key });

  it('reads an incident with its caller as a verified requester when the caller opened it through the portal', async () => {
    const id = sn.addIncident({ short_description: 'VPN drops', description: 'every 10 minutes', caller_id: alice });
    const { ctx: c, credentialCalls } = ctx();
    const t = await new ServiceNowConnector(settings(sn.url)).get(c, id);
    expect(t).toMatchObject({
      system: 'servicenow',
      id,
      number: expect.stringMatching(/^INC/),
      subject: 'VPN drops',
      status: 'New',
      priority: '4 - Low',
      channel: 'self-service',
      requester: { id: alice, email: 'alice@example.com', name: 'Alice Example', verified: true },
      closed: false,
      readFrom: 'api',
    });
    expect(credentialCalls).toEqual([{ provider: 'servicenow', scopes: ['incident:read'] }]);
    const req = sn.requests.at(-1)!;
    expect(req.path).toBe(`/api/now/table/incident/${id}`);
    expect(req.query.sysparm_fields).toContain('caller_id.email');
  });

  it('does not verify a requester whose ticket came by email or was opened on their behalf', async () => {
    const agent = sn.addUser('agent.bob', 'bob@example.com');
    const byEmail = sn.addIncident({ short_description: 'reset', caller_id: alice, contact_type: 'email' });
    const onBehalf = sn.addIncident({ short_description: 'reset', caller_id: alice, opened_by: agent });
    const conn = new ServiceNowConnector(settings(sn.url));
    const a = await conn.get(ctx().ctx, byEmail);
    const b = await conn.get(ctx().ctx, onBehalf);
    expect(a.requester).toMatchObject({ verified: false, reason: expect.stringMatching(/contact type "email"/) });
    expect(b.requester).toMatchObject({ verified: false, reason: expect.stringMatching(/on the caller’s behalf/) });
  });

  it('writes a work note once: a retried call with the same idempotency key finds its reference and does nothing', async () => {
    const id = sn.addIncident({ short_description: 'x', caller_id: alice });
    const conn = new ServiceNowConnector(settings(sn.url));
    const key = { id, number: sn.incidents.get(id)!.number! };
    const first = await conn.comment(ctx('run/case/0').ctx, key, 'Case summary', 'internal');
    const retry = await conn.comment(ctx('run/case/0').ctx, key, 'Case summary', 'internal');
    const other = await conn.comment(ctx('run/other/0').ctx, key, 'Another note', 'public');
    expect([first.applied, retry.applied, other.applied]).toEqual([true, false, true]);
    const journal = sn.journal.get(id)!;
    expect(journal.map((e) => e.element)).toEqual(['work_notes', 'comments']);
    expect(journal[0]!.value).toMatch(/^Case summary\n\n\[warden-ref:[0-9a-f]{16}\]$/);
  });

  it('assigns by group name and resolves with close code, notes and the reply in one PATCH', async () => {
    const id = sn.addIncident({ short_description: 'x', caller_id: alice });
    const conn = new ServiceNowConnector(settings(sn.url));
    const key = { id, number: sn.incidents.get(id)!.number! };
    await conn.assign(ctx().ctx, key, { queue: 'Desktop Support' });
    expect(sn.incidents.get(id)!.assignment_group).toBe(sn.groups.get('Desktop Support'));
    expect(sn.requests.at(-1)!.query.sysparm_input_display_value).toBe('true');
    const r1 = await conn.resolve(ctx('run/resolve/0').ctx, key, { reply: 'Try this', closeNotes: 'KB cited' });
    const r2 = await conn.resolve(ctx('run/resolve/0').ctx, key, { reply: 'Try this', closeNotes: 'KB cited' });
    expect([r1.applied, r2.applied]).toEqual([true, false]);
    const inc = sn.incidents.get(id)!;
    expect(inc).toMatchObject({ state: '6', close_code: 'Solution provided' });
    expect(sn.updates.filter((u) => u.fields.state === '6')).toHaveLength(1);
    expect(sn.journal.get(id)!.filter((e) => e.element === 'comments')).toHaveLength(1);
  });

  it('pages new incidents by (sys_created_on, sys_id) so tickets sharing a second are neither lost nor repeated', async () => {
    const at = snNow(-5 * 60_000);
    const ids = ['a1', 'b2', 'c3'].map((s) =>
      sn.addIncident({ sys_id: s, short_description: s, caller_id: alice, sys_created_on: at }),
    );
    const fresh = sn.addIncident({ short_description: 'too new', caller_id: alice, sys_created_on: snNow() });
    const conn = new ServiceNowConnector(settings(sn.url));
    const window = { limit: 2, settleSeconds: 60, lookbackMinutes: 60 };
    const p1 = await conn.listNew(ctx().ctx, null, window);
    const last = p1.at(-1)!;
    const p2 = await conn.listNew(ctx().ctx, { createdAt: last.createdAt, id: last.id }, window);
    expect([...p1, ...p2].map((t) => t.id)).toEqual(ids);
    expect([...p1, ...p2].map((t) => t.id)).not.toContain(fresh);
    expect(
      pollQuery(
        'active=true',
        { createdAt: '2024-05-01T10:00:00Z', id: 'b2' },
        window,
        Date.parse('2024-05-01T11:00:00Z'),
      ),
    ).toBe(
      'active=true^sys_created_on>2024-05-01 10:00:00^sys_created_on<=2024-05-01 10:59:00^NQactive=true^sys_created_on=2024-05-01 10:00:00^sys_id>b2^sys_created_on<=2024-05-01 10:59:00^ORDERBYsys_created_on^ORDERBYsys_id',
    );
  });

  it('says what is wrong: rejected credentials (401), unknown record (404), rate limits retryable (429)', async () => {
    const client = new ServiceNowClient({ baseUrl: sn.url, auth: 'basic' });
    const signal = new AbortController().signal;
    const bad = client.getIncident({ credential: 'warden.integration:wrong', signal }, 'x');
    await expect(bad).rejects.toBeInstanceOf(VendorRefusedError);
    await expect(bad).rejects.toThrow(
      /401 \(User Not Authenticated: Required to provide Auth information\).*servicenow.api_token/,
    );
    await expect(bad).rejects.not.toThrow(/wrong/);
    await expect(client.getIncident({ credential: CRED, signal }, 'nope')).rejects.toThrow(/404 \(No Record found/);
    sn.failNext(1, 429);
    await expect(client.getIncident({ credential: CRED, signal }, 'nope')).rejects.toBeInstanceOf(VendorError);
    await expect(client.getIncident({ credential: 'no-colon', signal }, 'x')).rejects.toThrow(/user:password/);
  });

  it('sends an OAuth token as a bearer credential', async () => {
    sn.bearer.add('oauth-access-token-1234');
    const id = sn.addIncident({ short_description: 'x', caller_id: alice });
    const client = new ServiceNowClient({ baseUrl: sn.url, auth: 'bearer' });
    const r = await client.getIncident(
      { credential: 'oauth-access-token-1234', signal: new AbortController().signal },
      id,
    );
    expect(r.sys_id).toBe(id);
  });
});
