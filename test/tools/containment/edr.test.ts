import { FalconClient, VendorError, VendorRefusedError, createEdrTools } from '../../../src/tools/containment';
import type { EdrHostResult } from '../../../src/tools/containment';
import { ToolRefusedError } from '../../../src/tools/types';
import { startFakeCrowdStrike } from '../../harness/fake-crowdstrike';
import type { FakeCrowdStrike } from '../../harness/fake-crowdstrike';
import { startJsonServer } from '../../harness/fake-http';
import { testToolContext } from '../../harness/tool-context';

let falcon: FakeCrowdStrike;
let credential: string;

beforeEach(async () => {
  falcon = await startFakeCrowdStrike();
  credential = `${falcon.clientId}:${falcon.clientSecret}`;
});
afterEach(() => falcon.close());

function tools(baseUrl = falcon.url) {
  const [isolate, release] = createEdrTools(new FalconClient({ baseUrl, timeoutMs: 5_000 }));
  if (!isolate || !release) throw new Error('createEdrTools returned fewer than two tools');
  return { isolate, release };
}

/** Validates like the tool activity does, then executes. */
async function run(
  tool: ReturnType<typeof tools>['isolate'],
  args: unknown,
  secret = credential,
): Promise<EdrHostResult> {
  return tool.execute(tool.input.parse(args), testToolContext({ crowdstrike: secret }).ctx);
}

describe('edr_isolate_host (CrowdStrike Falcon)', () => {
  it('contains a host found by hostname, in Falcon request format', async () => {
    const id = falcon.addDevice('web-01');
    const result = await run(tools().isolate, { hostname: 'web-01' });
    expect(result).toEqual({
      vendor: 'crowdstrike',
      action: 'contain',
      deviceId: id,
      hostname: 'web-01',
      changed: true,
      status: 'containment_pending',
    });
    expect(falcon.devices.get(id)?.status).toBe('contained');
    expect(falcon.actionsFor(id)).toEqual([{ deviceId: id, action: 'contain', outcome: 'applied' }]);
    expect(falcon.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /oauth2/token',
      'GET /devices/queries/devices/v1',
      'GET /devices/entities/devices/v2',
      'POST /devices/entities/devices-actions/v2',
    ]);
  });

  it('is idempotent: a second isolate sends no second containment', async () => {
    const id = falcon.addDevice('web-01');
    const { isolate } = tools();
    await run(isolate, { hostname: 'web-01' });
    const again = await run(isolate, { hostname: 'web-01' });
    expect(again).toMatchObject({ changed: false, status: 'contained' });
    expect(falcon.actionsFor(id)).toHaveLength(1);
  });

  it('leaves a host contained out of band alone', async () => {
    const id = falcon.addDevice('db-02', 'contained');
    expect(await run(tools().isolate, { deviceId: id })).toMatchObject({ changed: false, status: 'contained' });
    expect(falcon.actionsFor(id)).toHaveLength(0);
  });

  it('treats Falcon 409 (already in that state) as done', async () => {
    const id = falcon.addDevice('web-01', 'contained');
    const client = new FalconClient({ baseUrl: falcon.url });
    const call = {
      credentials: { clientId: falcon.clientId, clientSecret: falcon.clientSecret },
      signal: AbortSignal.timeout(5_000),
    };
    await expect(client.deviceAction(call, 'contain', id)).resolves.toEqual({ applied: false });
    expect(falcon.actionsFor(id)).toEqual([{ deviceId: id, action: 'contain', outcome: 'conflict' }]);
  });

  it('refuses an unknown hostname clearly, without acting', async () => {
    falcon.addDevice('web-01');
    const err = await run(tools().isolate, { hostname: 'web-99' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolRefusedError);
    expect((err as Error).message).toMatch(/no Falcon device has the hostname "web-99".*pass deviceId/);
    expect(falcon.actions).toHaveLength(0);
  });

  it('refuses a hostname shared by several devices and names them', async () => {
    const a = falcon.addDevice('web-01');
    const b = falcon.addDevice('WEB-01');
    const err = (await run(tools().isolate, { hostname: 'web-01' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ToolRefusedError);
    expect(err.message).toContain(a);
    expect(err.message).toContain(b);
    expect(falcon.actions).toHaveLength(0);
  });

  it('refuses when deviceId and hostname name different machines', async () => {
    const id = falcon.addDevice('web-01');
    await expect(run(tools().isolate, { hostname: 'db-01', deviceId: id })).rejects.toThrow(/is "web-01", not "db-01"/);
    expect(falcon.actions).toHaveLength(0);
  });

  it('refuses rejected client credentials without revealing them', async () => {
    falcon.addDevice('web-01');
    const wrong = `${falcon.clientId}:WrongSecret0123456789`;
    const err = (await run(tools().isolate, { hostname: 'web-01' }, wrong).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(VendorRefusedError);
    expect(err.message).toMatch(/token request failed.*403.*Failed to issue access token.*crowdstrike\.api_token/);
    expect(err.message).not.toContain('WrongSecret0123456789');
    expect(falcon.actions).toHaveLength(0);
  });

  it('refuses a malformed credential secret without echoing it', async () => {
    const err = (await run(tools().isolate, { hostname: 'web-01' }, 'just-a-token').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ToolRefusedError);
    expect(err.message).toMatch(/client_id:client_secret/);
    expect(err.message).not.toContain('just-a-token');
  });

  it('accepts the JSON credential form', async () => {
    const id = falcon.addDevice('web-01');
    const json = JSON.stringify({ client_id: falcon.clientId, client_secret: falcon.clientSecret });
    await expect(run(tools().isolate, { hostname: 'web-01' }, json)).resolves.toMatchObject({ changed: true });
    expect(falcon.actionsFor(id)).toHaveLength(1);
  });

  it('refuses with the missing scope named when the API client may not write hosts', async () => {
    falcon.scopes.delete('hosts:write');
    const id = falcon.addDevice('web-01');
    const err = (await run(tools().isolate, { hostname: 'web-01' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(VendorRefusedError);
    expect(err.message).toMatch(/answered 403.*Hosts: Read and Write/);
    expect(falcon.actionsFor(id)).toHaveLength(0);
  });

  it('throws a retryable error on 429, then succeeds on the retry', async () => {
    const id = falcon.addDevice('web-01');
    const { isolate } = tools();
    falcon.failNext(1, 429);
    const err = (await run(isolate, { hostname: 'web-01' }).catch((e: unknown) => e)) as VendorError;
    expect(err).toBeInstanceOf(VendorError);
    expect(err).not.toBeInstanceOf(ToolRefusedError);
    expect(err.message).toMatch(/answered 429.*rate limited, will be retried/);
    expect(err.details).toMatchObject({ vendor: 'crowdstrike', status: 429 });
    expect(err.details.retryAfterMs).toBeLessThanOrEqual(2_000);
    await expect(run(isolate, { hostname: 'web-01' })).resolves.toMatchObject({ changed: true });
    expect(falcon.actionsFor(id)).toHaveLength(1);
  });

  it('throws a retryable error on a Falcon 5xx', async () => {
    falcon.addDevice('web-01');
    falcon.failNext(1, 503);
    const err = await run(tools().isolate, { hostname: 'web-01' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VendorError);
    expect((err as Error).message).toMatch(/answered 503/);
  });

  it('reuses its bearer token and re-authenticates once when Falcon revokes it', async () => {
    falcon.addDevice('web-01');
    const { isolate, release } = tools();
    await run(isolate, { hostname: 'web-01' });
    await run(isolate, { hostname: 'web-01' });
    expect(falcon.tokensIssued).toBe(1);
    falcon.revokeTokens();
    await expect(run(release, { hostname: 'web-01' })).resolves.toMatchObject({ changed: true });
    expect(falcon.tokensIssued).toBe(2);
  });

  it('does not follow a redirect, naming where it pointed', async () => {
    const redirecting = await startJsonServer(() => ({
      status: 308,
      headers: { location: 'https://api.us-2.crowdstrike.com/oauth2/token' },
    }));
    try {
      const err = (await run(tools(redirecting.url).isolate, { hostname: 'web-01' }).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(ToolRefusedError);
      expect(err.message).toMatch(/redirected \(308\) to api\.us-2\.crowdstrike\.com/);
    } finally {
      await redirecting.close();
    }
  });

  it('stops when the activity is cancelled', async () => {
    falcon.addDevice('web-01');
    const { isolate } = tools();
    const controller = new AbortController();
    controller.abort();
    const { ctx } = testToolContext({ crowdstrike: credential }, { signal: controller.signal });
    await expect(isolate.execute(isolate.input.parse({ hostname: 'web-01' }), ctx)).rejects.toThrow(/cancelled/);
    expect(falcon.actions).toHaveLength(0);
  });

  it('asks for exactly the capability it declares', async () => {
    falcon.addDevice('web-01');
    const { isolate } = tools();
    const { ctx, credentialCalls } = testToolContext({ crowdstrike: credential });
    await isolate.execute(isolate.input.parse({ hostname: 'web-01' }), ctx);
    expect(isolate.capabilities).toEqual([{ provider: 'crowdstrike', scopes: ['hosts:write'] }]);
    expect(credentialCalls).toEqual(isolate.capabilities);
  });
});

describe('edr_release_host (CrowdStrike Falcon)', () => {
  it('lifts containment, and a second release is a no-op', async () => {
    const id = falcon.addDevice('web-01', 'contained');
    const { release } = tools();
    expect(await run(release, { hostname: 'web-01' })).toMatchObject({
      action: 'lift_containment',
      changed: true,
      status: 'lift_containment_pending',
    });
    expect(falcon.devices.get(id)?.status).toBe('normal');
    expect(await run(release, { hostname: 'web-01' })).toMatchObject({ changed: false, status: 'normal' });
    expect(falcon.actionsFor(id)).toEqual([{ deviceId: id, action: 'lift_containment', outcome: 'applied' }]);
  });
});

describe('EDR tool definitions', () => {
  it('are reversible writes on the crowdstrike rate-limit class and breaker, with readable summaries', () => {
    const { isolate, release } = tools();
    for (const t of [isolate, release]) {
      expect(t.risk).toBe('write');
      expect(t.rateLimitClass).toBe('crowdstrike');
      expect(t.integration).toBe('crowdstrike');
    }
    expect(isolate.summarize?.(isolate.input.parse({ hostname: 'web-01' }))).toBe('crowdstrike: contain host web-01');
    expect(release.summarize?.(release.input.parse({ hostname: 'web-01' }))).toBe(
      'crowdstrike: lift containment on host web-01',
    );
  });

  it('reject a hostname that could escape the FQL filter, and a call naming no host', () => {
    const { isolate } = tools();
    expect(isolate.input.safeParse({ hostname: "web-01'+hostname:'*" }).success).toBe(false);
    expect(isolate.input.safeParse({}).success).toBe(false);
    expect(isolate.input.safeParse({ deviceId: 'not-hex' }).success).toBe(false);
  });
});
