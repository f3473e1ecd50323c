import { generateSigner } from '../../src/identity/keyring';
import type { VerificationKey } from '../../src/identity/signed-request';
import { SIGNATURE_MAX_AGE_MS, verifySignedRequest } from '../../src/identity/signed-request';

describe('signed requests (ed25519, verified in pure JS as workflows do)', () => {
  const alice = generateSigner('alice');
  const keys: VerificationKey[] = [{ id: alice.keyId, publicKey: alice.publicKey }];
  const fields = ['wf-1', 'contain.0', 'sha256:abc', 'approve', 'alice', ''];
  const check = (over: Partial<Parameters<typeof verifySignedRequest>[0]> = {}) =>
    verifySignedRequest({
      purpose: 'approval',
      fields,
      signature: alice.sign('approval', fields),
      principal: 'alice',
      keys,
      nowMs: Date.now(),
      usedNonces: new Set(),
      ...over,
    });

  it('accepts a signature by an enrolled key over exactly these fields', () => {
    expect(check()).toEqual({ ok: true, keyId: alice.keyId });
  });

  it('refuses every change to what was signed, and signatures for another purpose', () => {
    const sig = alice.sign('approval', fields);
    for (let i = 0; i < fields.length; i++) {
      const changed = fields.map((f, j) => (j === i ? `${f}x` : f));
      expect(check({ fields: changed, signature: sig })).toMatchObject({ ok: false, reason: /^bad signature/ });
    }
    expect(check({ signature: alice.sign('control', fields) })).toMatchObject({ ok: false, reason: /^bad signature/ });
    expect(check({ signature: { ...sig, signedAt: new Date(Date.now() - 1000).toISOString() } })).toMatchObject({
      ok: false,
    });
  });

  it('refuses unsigned, unknown, revoked, expired, future and replayed requests with a reason', () => {
    const sig = alice.sign('approval', fields);
    expect(check({ signature: undefined })).toMatchObject({ reason: /^unsigned: alice must sign/ });
    expect(check({ keys: [] })).toMatchObject({ reason: /alice has no enrolled key/ });
    expect(check({ signature: generateSigner('alice').sign('approval', fields) })).toMatchObject({
      reason: /is not enrolled for alice/,
    });
    expect(check({ keys: [{ ...keys[0]!, revokedAt: '2026-01-01T00:00:00Z' }] })).toMatchObject({
      reason: /was revoked at 2026-01-01/,
    });
    expect(check({ signature: sig, nowMs: Date.now() + SIGNATURE_MAX_AGE_MS + 1000 })).toMatchObject({
      reason: /^signature expired/,
    });
    expect(check({ signature: sig, nowMs: Date.now() - 10 * 60_000 })).toMatchObject({ reason: /in the future/ });
    expect(check({ signature: sig, usedNonces: new Set([sig.nonce]) })).toMatchObject({ reason: /^replayed/ });
  });

  it("refuses another principal's valid signature presented under alice's name", () => {
    const mallory = generateSigner('mallory');
    expect(check({ signature: mallory.sign('approval', fields) })).toMatchObject({ ok: false });
    // Even enrolled under alice's key id, mallory's signature does not verify against alice's public key.
    expect(check({ signature: { ...mallory.sign('approval', fields), keyId: alice.keyId } })).toMatchObject({
      reason: /^bad signature/,
    });
  });
});
