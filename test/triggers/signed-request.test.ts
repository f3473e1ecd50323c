import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { cachedSecretLookup } from '../../src/triggers/signed-request';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, registerWebhooks, signWebhook } from '../../src/triggers/webhooks';

/** A secret store that counts its reads (the vault reads and decrypts a file on each). */
function countingStore(initial: Record<string, string>) {
  const secrets = new Map(Object.entries(initial));
  const reads: string[] = [];
  return {
    secrets,
    reads,
    get: async (sender: string) => {
      reads.push(sender);
      return secrets.get(sender);
    },
  };
}

describe('signed webhook requests: what is checked before the vault, and the secret cache', () => {
  let app: FastifyInstance;
  let store: ReturnType<typeof countingStore>;
  const delivered: string[] = [];
  const body = JSON.stringify({ id: 'a1', title: 'x' });
  // The cache's clock: tests move it past the cache period instead of sleeping (a loaded machine could
  // otherwise let the period lapse between two requests).
  let clock = 1_000_000; // not 0: lru-cache reads a start time of 0 as "no expiry"
  const passCachePeriod = () => (clock += 301);

  async function post(source: string, opts: { secret?: string; ts?: number; unsigned?: boolean } = {}) {
    const ts = opts.ts ?? Math.floor(Date.now() / 1000);
    const res = await app.inject({
      method: 'POST',
      url: `/v1/webhooks/${source}`,
      headers: {
        'content-type': 'application/json',
        ...(opts.unsigned
          ? {}
          : { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: signWebhook(opts.secret ?? 's3cret', ts, body) }),
      },
      payload: body,
    });
    return { status: res.statusCode, error: res.json<{ error?: string }>().error };
  }

  beforeEach(async () => {
    store = countingStore({ acme: 's3cret' });
    clock = 1_000_000;
    delivered.length = 0;
    app = Fastify();
    registerWebhooks(app, {
      secretFor: cachedSecretLookup(store.get, 300, { now: () => clock }),
      deliver: async (d) => {
        delivered.push(d.source);
        return { workflowId: `wf-${delivered.length}`, duplicate: false };
      },
    });
    await app.ready();
  });
  afterEach(() => app.close());

  it('refuses unsigned, stale and future requests without reading any secret', async () => {
    const hour = 3600;
    const now = Math.floor(Date.now() / 1000);
    expect(await post('acme', { unsigned: true })).toEqual({
      status: 401,
      error: expect.stringMatching(/^missing x-warden-timestamp or x-warden-signature/),
    });
    expect(await post('acme', { ts: now - hour })).toMatchObject({ status: 401, error: /^stale or future/ });
    expect(await post('acme', { ts: now + hour })).toMatchObject({ status: 401, error: /^stale or future/ });
    // Not even for a source that does not exist: an attacker's flood costs no vault work.
    expect(await post('nobody', { unsigned: true })).toMatchObject({ status: 401 });
    expect(store.reads).toEqual([]);
    expect(delivered).toEqual([]);
  });

  it('reads a source secret once per cache period, and a forged signature is still refused from the cache', async () => {
    for (let i = 0; i < 10; i++) expect((await post('acme')).status).toBe(202);
    expect(await post('acme', { secret: 'guess' })).toMatchObject({ status: 401, error: /^bad signature/ });
    expect(store.reads).toEqual(['acme']);
    expect(delivered).toHaveLength(10);
  });

  it('a rotated secret takes effect once the cache period has passed; the old one is refused from then on', async () => {
    expect((await post('acme')).status).toBe(202);
    store.secrets.set('acme', 'rotated');
    expect(await post('acme')).toMatchObject({ status: 202 }); // still the cached secret
    passCachePeriod();
    expect(await post('acme')).toMatchObject({ status: 401, error: /^bad signature/ });
    expect((await post('acme', { secret: 'rotated' })).status).toBe(202);
    expect(store.reads).toEqual(['acme', 'acme']);
  });

  it('an unknown source answers 404 saying how to create it, and is found once its secret exists', async () => {
    expect(await post('newvendor')).toMatchObject({ status: 404, error: /warden secrets set webhook\.newvendor/ });
    expect(await post('newvendor')).toMatchObject({ status: 404 });
    expect(store.reads).toEqual(['newvendor']);
    store.secrets.set('newvendor', 's3cret');
    passCachePeriod();
    expect((await post('newvendor')).status).toBe(202);
  });

  it('with the cache off (0) every request reads the secret', async () => {
    const lookup = cachedSecretLookup(store.get, 0);
    await lookup('acme');
    await lookup('acme');
    expect(store.reads).toEqual(['acme', 'acme']);
  });
});
