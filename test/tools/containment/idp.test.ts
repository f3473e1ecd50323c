import { VendorError, VendorRefusedError, createIdpTools } from '../../../src/tools/containment';
import type { IdpUserResult } from '../../../src/tools/containment';
import { ToolRefusedError } from '../../../src/tools/types';
import { startFakeOkta } from '../../harness/fake-okta';
import type { FakeOkta } from '../../harness/fake-okta';
import { testToolContext } from '../../harness/tool-context';

const TOKEN = '00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcd';

let okta: FakeOkta;

beforeEach(async () => {
  okta = await startFakeOkta(TOKEN);
});
afterEach(() => okta.close());

function tools(config: { oktaBaseUrl: string | undefined } = { oktaBaseUrl: okta.url }) {
  const [disable, enable] = createIdpTools({ ...config, timeoutMs: 5_000 });
  if (!disable || !enable) throw new Error('createIdpTools returned fewer than two tools');
  return { disable, enable };
}

async function run(tool: ReturnType<typeof tools>['disable'], args: unknown, token = TOKEN): Promise<IdpUserResult> {
  return tool.execute(tool.input.parse(args), testToolContext({ okta: token }).ctx);
}

const ops = (userId: string) => okta.operations.filter((o) => o.userId === userId).map((o) => `${o.op}:${o.outcome}`);

describe('idp_disable_user (Okta)', () => {
  it('suspends an active user found by login and ends their sessions', async () => {
    const id = okta.addUser('alice@example.com');
    const result = await run(tools().disable, { user: 'alice@example.com' });
    expect(result).toEqual({
      vendor: 'okta',
      action: 'suspend',
      userId: id,
      login: 'alice@example.com',
      changed: true,
      status: 'SUSPENDED',
      sessionsCleared: true,
    });
    expect(okta.users.get(id)).toMatchObject({ status: 'SUSPENDED', sessions: 0 });
    expect(ops(id)).toEqual(['suspend:applied', 'clear_sessions:applied']);
    expect(okta.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v1/users/alice%40example.com',
      `POST /api/v1/users/${id}/lifecycle/suspend`,
      `DELETE /api/v1/users/${id}/sessions`,
    ]);
  });

  it('is idempotent: a second disable does not suspend again', async () => {
    const id = okta.addUser('alice@example.com');
    const { disable } = tools();
    await run(disable, { user: 'alice@example.com' });
    expect(await run(disable, { user: 'alice@example.com' })).toMatchObject({ changed: false, status: 'SUSPENDED' });
    expect(ops(id).filter((o) => o.startsWith('suspend'))).toEqual(['suspend:applied']);
  });

  it('keeps sessions when asked to', async () => {
    const id = okta.addUser('bob@example.com');
    await run(tools().disable, { user: 'bob@example.com', clearSessions: false });
    expect(ops(id)).toEqual(['suspend:applied']);
    expect(okta.users.get(id)?.sessions).toBe(2);
  });

  it('refuses an unknown user with the Okta error code', async () => {
    const err = (await run(tools().disable, { user: 'nobody@example.com' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(VendorRefusedError);
    expect(err.message).toMatch(/user lookup of nobody@example\.com failed.*404 E0000007.*Check the login or user id/);
  });

  it('refuses a rejected API token without revealing it', async () => {
    okta.addUser('alice@example.com');
    const bad = 'WrongToken0123456789abcdefghij';
    const err = (await run(tools().disable, { user: 'alice@example.com' }, bad).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(VendorRefusedError);
    expect(err.message).toMatch(/401 E0000011.*check the secret okta\.api_token/);
    expect(err.message).not.toContain(bad);
  });

  it('refuses when the token may not manage users', async () => {
    const id = okta.addUser('alice@example.com');
    okta.tokens.set('ReadOnlyToken0123456789', { canManage: false });
    const err = await run(tools().disable, { user: 'alice@example.com' }, 'ReadOnlyToken0123456789').catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolRefusedError);
    expect((err as Error).message).toMatch(/403 E0000006.*user management rights/);
    expect(okta.users.get(id)?.status).toBe('ACTIVE');
  });

  it('throws a retryable error on 429, then succeeds on the retry', async () => {
    const id = okta.addUser('alice@example.com');
    const { disable } = tools();
    okta.failNext(1, 429);
    const err = (await run(disable, { user: 'alice@example.com' }).catch((e: unknown) => e)) as VendorError;
    expect(err).toBeInstanceOf(VendorError);
    expect(err).not.toBeInstanceOf(ToolRefusedError);
    expect(err.message).toMatch(/answered 429 E0000047.*rate limited, will be retried/);
    expect(err.details).toMatchObject({ vendor: 'okta', status: 429, code: 'E0000047' });
    expect(err.details.retryAfterMs).toBeLessThanOrEqual(2_000);
    await expect(run(disable, { user: 'alice@example.com' })).resolves.toMatchObject({ changed: true });
    expect(ops(id).filter((o) => o.startsWith('suspend'))).toEqual(['suspend:applied']);
  });

  it('refuses, naming the setting and asking for no credential, when WARDEN_OKTA_BASE_URL is unset', async () => {
    const { disable } = tools({ oktaBaseUrl: undefined });
    const { ctx, credentialCalls } = testToolContext({ okta: TOKEN });
    const err = await disable.execute(disable.input.parse({ user: 'alice@example.com' }), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolRefusedError);
    expect((err as Error).message).toMatch(/WARDEN_OKTA_BASE_URL is not set/);
    expect(credentialCalls).toEqual([]);
  });

  it('asks for exactly the capability it declares', async () => {
    okta.addUser('alice@example.com');
    const { disable } = tools();
    const { ctx, credentialCalls } = testToolContext({ okta: TOKEN });
    await disable.execute(disable.input.parse({ user: 'alice@example.com' }), ctx);
    expect(disable.capabilities).toEqual([{ provider: 'okta', scopes: ['users:manage'] }]);
    expect(credentialCalls).toEqual(disable.capabilities);
  });
});

describe('idp_enable_user (Okta)', () => {
  it('unsuspends a suspended user, and a second enable is a no-op', async () => {
    const id = okta.addUser('alice@example.com', 'SUSPENDED');
    const { enable } = tools();
    expect(await run(enable, { user: id })).toMatchObject({ action: 'unsuspend', changed: true, status: 'ACTIVE' });
    expect(await run(enable, { user: id })).toMatchObject({ changed: false, status: 'ACTIVE' });
    expect(ops(id)).toEqual(['unsuspend:applied']);
  });

  it('refuses to reactivate a deactivated user', async () => {
    const id = okta.addUser('gone@example.com', 'DEPROVISIONED');
    await expect(run(tools().enable, { user: 'gone@example.com' })).rejects.toThrow(/DEPROVISIONED.*Okta admin/);
    expect(ops(id)).toEqual([]);
  });
});

describe('IdP tool definitions', () => {
  it('are writes on the okta rate-limit class and breaker, with readable summaries', () => {
    const { disable, enable } = tools();
    for (const t of [disable, enable]) {
      expect(t.risk).toBe('write');
      expect(t.rateLimitClass).toBe('okta');
      expect(t.integration).toBe('okta');
    }
    expect(disable.summarize?.(disable.input.parse({ user: 'alice@example.com' }))).toBe(
      'okta: suspend user alice@example.com',
    );
    expect(enable.summarize?.(enable.input.parse({ user: 'alice@example.com' }))).toBe(
      'okta: unsuspend user alice@example.com',
    );
  });

  it('reject a user that would change the request path', () => {
    const { disable } = tools();
    expect(disable.input.safeParse({ user: '../groups' }).success).toBe(false);
    expect(disable.input.safeParse({ user: 'a b' }).success).toBe(false);
  });
});
