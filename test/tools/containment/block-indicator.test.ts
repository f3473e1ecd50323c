import { FalconClient, VendorRefusedError, createBlockIndicatorTool } from '../../../src/tools/containment';
import type { BlockIndicatorResult } from '../../../src/tools/containment';
import { ToolRefusedError } from '../../../src/tools/types';
import { startFakeCrowdStrike } from '../../harness/fake-crowdstrike';
import type { FakeCrowdStrike } from '../../harness/fake-crowdstrike';
import { testToolContext } from '../../harness/tool-context';

const SHA256 = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855';
const DAY = 86_400_000;

let falcon: FakeCrowdStrike;
let tool: ReturnType<typeof createBlockIndicatorTool>;

beforeEach(async () => {
  falcon = await startFakeCrowdStrike();
  tool = createBlockIndicatorTool(new FalconClient({ baseUrl: falcon.url, timeoutMs: 5_000 }));
});
afterEach(() => falcon.close());

function run(args: unknown, key = 'alert-1/block/0'): Promise<BlockIndicatorResult> {
  const { ctx } = testToolContext(
    { crowdstrike: `${falcon.clientId}:${falcon.clientSecret}` },
    { idempotencyKey: key },
  );
  return tool.execute(tool.input.parse(args), ctx);
}

describe('block_indicator (CrowdStrike IOC Management)', () => {
  it('creates a prevent IOC for a hash, expiring in 30 days, traced to the Warden call', async () => {
    const before = Date.now();
    const result = await run({ type: 'sha256', value: SHA256, description: 'dropper from alert 1' });
    expect(result).toMatchObject({
      vendor: 'crowdstrike',
      type: 'sha256',
      value: SHA256.toLowerCase(),
      action: 'prevent',
      changed: true,
    });
    const [write] = falcon.indicatorWrites;
    expect(write?.method).toBe('POST');
    expect(write?.comment).toBe('Warden alert-1/block/0');
    expect(write?.indicator).toMatchObject({
      type: 'sha256',
      value: SHA256.toLowerCase(),
      action: 'prevent',
      severity: 'high',
      platforms: ['windows', 'mac', 'linux'],
      source: 'Warden',
      description: 'dropper from alert 1',
      applied_globally: true,
    });
    const expires = Date.parse(String(write?.indicator.expiration));
    expect(expires).toBeGreaterThanOrEqual(before + 30 * DAY - 1_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * DAY);
    expect(String(write?.indicator.expiration)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('is idempotent: blocking the same indicator again writes nothing', async () => {
    const first = await run({ type: 'sha256', value: SHA256 });
    const again = await run({ type: 'sha256', value: SHA256.toLowerCase() }, 'alert-2/block/0');
    expect(again).toMatchObject({ indicatorId: first.indicatorId, changed: false, action: 'prevent' });
    expect(falcon.indicatorWrites).toHaveLength(1);
  });

  it('a retry after a crash mid-write reports the change its own earlier attempt made (changed: true)', async () => {
    // The first attempt's write reached Falcon, then the worker died before the activity answered.
    const first = await run({ type: 'sha256', value: SHA256 });
    const retry = await run({ type: 'sha256', value: SHA256 });
    expect(retry).toMatchObject({ indicatorId: first.indicatorId, changed: true, action: 'prevent' });
    expect(falcon.indicatorWrites).toHaveLength(1);
    expect(falcon.indicatorWrites[0]?.indicator.tags).toEqual([expect.stringMatching(/^warden-[0-9a-f]{20}$/)]);
  });

  it('shares one OAuth token request among concurrent calls (single flight)', async () => {
    const values = Array.from({ length: 12 }, (_, i) => `${i.toString(16).padStart(2, '0')}${SHA256.slice(2)}`);
    await Promise.all(values.map((value, i) => run({ type: 'sha256', value }, `alert-${i}/block/0`)));
    expect(falcon.requests.filter((r) => r.path === '/oauth2/token')).toHaveLength(1);
    expect(falcon.indicatorWrites).toHaveLength(12);
  });

  it('defaults IPs and domains to detect, which Falcon supports for network indicators', async () => {
    await expect(run({ type: 'domain', value: 'Evil.Example.com' })).resolves.toMatchObject({
      value: 'evil.example.com',
      action: 'detect',
      changed: true,
    });
    await expect(run({ type: 'ipv4', value: '203.0.113.7' })).resolves.toMatchObject({ action: 'detect' });
  });

  it("passes Falcon's refusal of prevent on a domain on, as a refusal", async () => {
    const err = (await run({ type: 'domain', value: 'evil.example.com', action: 'prevent' }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(VendorRefusedError);
    expect(err.message).toMatch(/create indicator failed.*answered 400.*not supported for type domain/);
  });

  it('renews an expired indicator instead of creating a duplicate', async () => {
    falcon.indicators.set('old', {
      id: 'old',
      type: 'sha256',
      value: SHA256.toLowerCase(),
      action: 'no_action',
      platforms: ['windows'],
      expiration: new Date(Date.now() - DAY).toISOString(),
    });
    const result = await run({ type: 'sha256', value: SHA256 });
    expect(result).toMatchObject({ indicatorId: 'old', action: 'prevent', changed: true });
    expect(falcon.indicatorWrites.map((w) => w.method)).toEqual(['PATCH']);
    expect(Date.parse(String(falcon.indicators.get('old')?.expiration))).toBeGreaterThan(Date.now() + 29 * DAY);
  });

  it('never weakens a stronger indicator already in force', async () => {
    falcon.indicators.set('strong', {
      id: 'strong',
      type: 'sha256',
      value: SHA256.toLowerCase(),
      action: 'prevent',
      platforms: ['windows'],
    });
    await expect(run({ type: 'sha256', value: SHA256, action: 'detect' })).resolves.toMatchObject({
      action: 'prevent',
      changed: false,
    });
    expect(falcon.indicatorWrites).toHaveLength(0);
  });

  it('refuses to override an allowlisted indicator', async () => {
    falcon.indicators.set('allowed', {
      id: 'allowed',
      type: 'domain',
      value: 'intranet.example.com',
      action: 'allow',
      platforms: ['windows'],
    });
    const err = (await run({ type: 'domain', value: 'intranet.example.com' }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ToolRefusedError);
    expect(err.message).toMatch(/on the Falcon allowlist.*Falcon console/);
    expect(falcon.indicatorWrites).toHaveLength(0);
  });

  it('refuses with the scope named when the API client may not write IOCs', async () => {
    falcon.scopes.delete('iocs:write');
    const err = (await run({ type: 'sha256', value: SHA256 }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(VendorRefusedError);
    expect(err.message).toMatch(/403.*IOC Management: Read and Write/);
  });

  it('asks for the iocs:write capability it declares', async () => {
    const { ctx, credentialCalls } = testToolContext({ crowdstrike: `${falcon.clientId}:${falcon.clientSecret}` });
    await tool.execute(tool.input.parse({ type: 'md5', value: 'd41d8cd98f00b204e9800998ecf8427e' }), ctx);
    expect(tool.capabilities).toEqual([{ provider: 'crowdstrike', scopes: ['iocs:write'] }]);
    expect(credentialCalls).toEqual(tool.capabilities);
  });

  it('validates the value against its type and bounds the expiry', () => {
    expect(tool.input.safeParse({ type: 'sha256', value: 'abc' }).success).toBe(false);
    expect(tool.input.safeParse({ type: 'ipv4', value: 'evil.example.com' }).success).toBe(false);
    expect(tool.input.safeParse({ type: 'domain', value: "evil.com'+value:'*" }).success).toBe(false);
    expect(tool.input.safeParse({ type: 'ipv6', value: '2001:db8::1' }).success).toBe(true);
    expect(
      tool.input.safeParse({ type: 'md5', value: 'd41d8cd98f00b204e9800998ecf8427e', expiresInDays: 0 }).success,
    ).toBe(false);
  });

  it('is a write with a one-line summary', () => {
    expect(tool.risk).toBe('write');
    expect(tool.rateLimitClass).toBe('crowdstrike');
    expect(tool.integration).toBe('crowdstrike');
    expect(tool.summarize?.(tool.input.parse({ type: 'domain', value: 'evil.example.com' }))).toBe(
      'crowdstrike: block domain evil.example.com (detect, expires in 30 d)',
    );
  });
});
