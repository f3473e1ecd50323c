import util from 'node:util';
import type { Lease, LeaseRefusal, LeaseRequest } from '../../src/credentials/broker';
import { CredentialBroker, scrub } from '../../src/credentials/broker';
import { isGranted } from '../../src/credentials/capabilities';
import { LeaseError } from '../../src/credentials/errors';
import { secretForms } from '../../src/credentials/scrub';

const CANARY = 'canary-tok/en+with=specials&9f3b';

function setup(secrets: Record<string, string> = { 'edr.api_token': CANARY }) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const refusals: LeaseRefusal[] = [];
  const events: string[] = [];
  const broker = new CredentialBroker({
    secrets: { get: (name) => Promise.resolve(secrets[name]) },
    onRefusal: (r) => refusals.push(r),
    onLease: (e) => events.push(`${e.kind}:${e.lease.id}`),
    maxTtlMs: 60_000,
    now: () => now,
  });
  return { broker, refusals, events, advance: (ms: number) => (now += ms) };
}

const request = (over: Partial<LeaseRequest> = {}): LeaseRequest => ({
  workflowId: 'alert-edr-42',
  stepId: 'contain',
  callId: '0',
  capability: { provider: 'edr', scopes: ['hosts.isolate'] },
  ttlMs: 30_000,
  actor: { kind: 'agent', id: 'agent:alert-scorer' },
  onBehalfOf: 'olivia',
  granted: [{ provider: 'edr', scopes: ['hosts.read', 'hosts.isolate'] }],
  ...over,
});

function leaseErrorOf(fn: () => unknown): LeaseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof LeaseError) return err;
    throw err;
  }
  throw new Error('expected a LeaseError');
}

describe('credential broker', () => {
  it('issues a lease naming the agent and on whose behalf, and reveals the secret while it lives', async () => {
    const { broker, events } = setup();
    const lease = await broker.lease(request());
    expect(lease.reveal()).toBe(CANARY);
    expect(lease).toMatchObject({
      secretName: 'edr.api_token',
      actor: { kind: 'agent', id: 'agent:alert-scorer' },
      onBehalfOf: 'olivia',
      workflowId: 'alert-edr-42',
      stepId: 'contain',
      callId: '0',
      state: 'active',
    });
    expect(lease.expiresAt.getTime() - lease.issuedAt.getTime()).toBe(30_000);
    expect(events).toEqual([`issued:${lease.id}`]);
    expect(broker.active().map((l) => l.id)).toEqual([lease.id]);
  });

  it('never exposes the value through JSON, inspection or enumeration', async () => {
    const { broker } = setup();
    const lease = await broker.lease(request());
    expect(JSON.stringify(lease)).not.toContain(CANARY);
    expect(util.inspect(lease, { depth: 10, showHidden: true })).not.toContain(CANARY);
    expect(Object.values(lease).map(String).join()).not.toContain(CANARY);
  });

  it('refuses a capability the step was not granted, names it and what grants it, and reports it', async () => {
    const { broker, refusals } = setup();
    const req = request({ granted: [{ provider: 'edr', scopes: ['hosts.read'] }] });
    const err = (await broker.lease(req).then(
      () => undefined,
      (e: unknown) => e,
    )) as LeaseError;
    expect(err).toBeInstanceOf(LeaseError);
    expect(err.code).toBe('not_granted');
    expect(err.message).toBe(
      'capability edr[hosts.isolate] is not granted to step "contain" of run alert-edr-42 (granted: edr[hosts.read]) ' +
        '— policy must grant edr[hosts.isolate] to this step for its tools to use it',
    );
    expect(refusals).toEqual([
      expect.objectContaining({
        code: 'not_granted',
        workflowId: 'alert-edr-42',
        stepId: 'contain',
        callId: '0',
        actor: { kind: 'agent', id: 'agent:alert-scorer' },
        onBehalfOf: 'olivia',
      }),
    ]);
    await expect(broker.lease(request({ granted: [] }))).rejects.toThrow(/granted: nothing/);
    expect(refusals).toHaveLength(2);
  });

  it('refuses use after the TTL, and reports it', async () => {
    const { broker, refusals, advance } = setup();
    const lease = await broker.lease(request({ ttlMs: 1_000 }));
    advance(999);
    expect(lease.reveal()).toBe(CANARY);
    advance(1);
    const err = leaseErrorOf(() => lease.reveal());
    expect(err.code).toBe('expired');
    expect(err.message).toMatch(
      /^lease lease-[\w-]+ for edr\[hosts.isolate\] \(run alert-edr-42, step contain, call 0\) expired at/,
    );
    expect(err.message).not.toContain(CANARY);
    expect(lease.state).toBe('expired');
    expect(refusals.map((r) => [r.code, r.leaseId])).toEqual([['expired', lease.id]]);
    expect(broker.active()).toEqual([]);
  });

  it('caps the TTL at the broker maximum', async () => {
    const { broker } = setup();
    const lease = await broker.lease(request({ ttlMs: 10 * 60_000 }));
    expect(lease.expiresAt.getTime() - lease.issuedAt.getTime()).toBe(60_000);
  });

  it('refuses use after revoke (the activity ended), and reports it', async () => {
    const { broker, refusals, events } = setup();
    const lease = await broker.lease(request());
    lease.revoke('activity ended');
    lease.revoke();
    const err = leaseErrorOf(() => lease.reveal());
    expect(err.code).toBe('revoked');
    expect(err.message).toMatch(/was revoked — a secret is readable only while the activity that leased it runs/);
    expect(refusals.map((r) => r.code)).toEqual(['revoked']);
    expect(events).toEqual([`issued:${lease.id}`, `revoked:${lease.id}`]);
  });

  it('withLease revokes however the work ends', async () => {
    const { broker } = setup();
    let kept: Lease | undefined;
    await expect(
      broker.withLease(request(), (l) => {
        kept = l;
        expect(l.reveal()).toBe(CANARY);
        return Promise.reject(new Error('vendor said no'));
      }),
    ).rejects.toThrow('vendor said no');
    expect(kept!.state).toBe('revoked');
    expect(() => kept!.reveal()).toThrow(LeaseError);
    const ok = await broker.withLease(request(), (l) => Promise.resolve(l.reveal().length));
    expect(ok).toBe(CANARY.length);
    expect(broker.active()).toEqual([]);
  });

  it('revokeAll ends the leases of one run', async () => {
    const { broker } = setup();
    const a = await broker.lease(request());
    const b = await broker.lease(request({ workflowId: 'other' }));
    expect(broker.revokeAll({ workflowId: 'alert-edr-42' })).toBe(1);
    expect([a.state, b.state]).toEqual(['revoked', 'active']);
  });

  it('refuses when no backend holds the secret, and a malformed request, reporting both', async () => {
    const { broker, refusals } = setup({});
    await expect(broker.lease(request())).rejects.toThrow(
      'capability edr[hosts.isolate] maps to secret "edr.api_token", which no backend holds — run `warden secrets set edr.api_token`',
    );
    await expect(broker.lease(request({ ttlMs: 0 }))).rejects.toMatchObject({ code: 'invalid_request' });
    expect(refusals.map((r) => r.code)).toEqual(['no_secret', 'invalid_request']);
  });

  it('a throwing refusal sink does not turn a refusal into anything else', async () => {
    const broker = new CredentialBroker({
      secrets: { get: () => Promise.resolve(CANARY) },
      onRefusal: () => {
        throw new Error('audit down');
      },
    });
    await expect(broker.lease(request({ granted: [] }))).rejects.toMatchObject({ code: 'not_granted' });
  });

  it.each([
    [{ provider: 'edr', scopes: ['a'] }, [{ provider: 'edr', scopes: ['a', 'b'] }], true],
    [
      { provider: 'edr', scopes: ['a', 'b'] },
      [
        { provider: 'edr', scopes: ['a'] },
        { provider: 'edr', scopes: ['b'] },
      ],
      true,
    ],
    [{ provider: 'edr', scopes: ['x'] }, [{ provider: 'edr', scopes: ['*'] }], true],
    [{ provider: 'edr', scopes: [] }, [{ provider: 'edr', scopes: [] }], true],
    [{ provider: 'edr', scopes: ['a'] }, [{ provider: 'intel', scopes: ['*'] }], false],
    [{ provider: 'edr', scopes: ['a', 'c'] }, [{ provider: 'edr', scopes: ['a'] }], false],
  ])('isGranted(%j, %j) = %s', (wanted, granted, ok) => {
    expect(isGranted(wanted, granted)).toBe(ok);
  });
});

describe('scrub', () => {
  it('removes a leased value and its encoded forms from a message, even after revoke', async () => {
    const { broker } = setup();
    const lease = await broker.lease(request());
    lease.revoke();
    const message = [
      `401 for token ${CANARY}`,
      `Authorization: Basic ${Buffer.from(CANARY).toString('base64')}`,
      `url=https://x/?t=${encodeURIComponent(CANARY)}`,
      `b64url ${Buffer.from(CANARY).toString('base64url')}`,
      `json ${JSON.stringify({ t: CANARY })}`,
    ].join('\n');
    const out = scrub(message, [lease]);
    for (const form of secretForms(CANARY)) expect(out).not.toContain(form);
    expect(out).toContain('401 for token [redacted]');
    expect(out.match(/\[redacted\]/g)).toHaveLength(5);
  });

  it('leaves text without secrets alone and accepts plain strings', () => {
    expect(scrub('nothing to see', ['abcdef'])).toBe('nothing to see');
    expect(scrub('a abcdef b', ['abcdef'])).toBe('a [redacted] b');
  });
});
