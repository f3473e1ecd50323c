// Checkpoint signing inside the SQLite writer thread, synchronously (the thread may block; the main
// event loop never does). Mirrors checkpoints.ts (payload, hash) and signers.ts (key or command); every
// checkpoint this file makes is checked by the TypeScript verifier in the audit tests.
'use strict';
const { execFileSync } = require('node:child_process');
const { createHash, createPrivateKey, createPublicKey, sign, verify } = require('node:crypto');

const J = JSON.stringify;
const GENESIS = '0'.repeat(64);
const KIND = 'warden.audit.checkpoint.v2';

function keyIdOf(publicKey) {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
}

/** RFC 8785 JSON of { kind, seq, leafHash, prevCheckpoint, ts, keyId }, as checkpointPayload. */
function payload(u) {
  return Buffer.from(
    `{"keyId":${J(u.keyId)},"kind":${J(KIND)},"leafHash":${J(u.leafHash)},"prevCheckpoint":${J(u.prevCheckpoint)},"seq":${u.seq},"ts":${J(u.ts)}}`,
    'utf8',
  );
}

/** As checkpointHash: sha256 over the RFC 8785 JSON of every field. */
function checkpointHash(cp) {
  const text = `{"keyId":${J(cp.keyId)},"leafHash":${J(cp.leafHash)},"prevCheckpoint":${J(cp.prevCheckpoint)},"seq":${cp.seq},"signature":${J(cp.signature)},"ts":${J(cp.ts)}}`;
  return createHash('sha256').update(text).digest('hex');
}

/** Base64 (standard or url-safe, whitespace ignored) → a 64-byte Ed25519 signature (signers.ts uses it too). */
function parseSignature(text) {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(compact)) {
    throw new Error('the audit signer command must print the signature in base64 on stdout');
  }
  const sig = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (sig.length !== 64) {
    throw new Error(`the audit signer command printed ${sig.length} bytes; an Ed25519 signature has 64 (base64)`);
  }
  return sig;
}

/** A synchronous signer from a SignerSpec (see checkpoints.ts). */
function syncSigner(spec) {
  if (spec.kind === 'key') {
    const privateKey = createPrivateKey(spec.privateKeyPem);
    const publicKey = createPublicKey(privateKey);
    return { keyId: keyIdOf(publicKey), publicKey, sign: (bytes) => sign(null, bytes, privateKey) };
  }
  const publicKey = createPublicKey(spec.publicKeyPem);
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    sign(bytes) {
      let out;
      try {
        out = execFileSync('/bin/sh', ['-c', spec.command], {
          input: bytes,
          timeout: spec.timeoutMs,
          stdio: ['pipe', 'pipe', 'pipe'],
          maxBuffer: 64 * 1024,
        });
      } catch (err) {
        const why = err.signal
          ? `was killed (${err.signal}) after ${spec.timeoutMs} ms`
          : `exited ${err.status}${err.stderr && String(err.stderr).trim() ? `: ${String(err.stderr).trim().split('\n').pop().slice(-200)}` : ''}`;
        throw new Error(`the audit signer command ${why}`);
      }
      return parseSignature(out.toString('utf8'));
    },
  };
}

/** Signs a checkpoint and checks the signature; throws when the signer fails or lies. */
function signCheckpoint(signer, head, prevCheckpoint, ts) {
  const unsigned = { seq: head.seq, leafHash: head.leafHash, prevCheckpoint, ts, keyId: signer.keyId };
  const bytes = payload(unsigned);
  const signature = signer.sign(bytes);
  if (!verify(null, bytes, signer.publicKey, signature)) {
    throw new Error(
      `the audit signer returned a signature that does not verify with key ${signer.keyId}: check that its public key is the one configured`,
    );
  }
  return { ...unsigned, signature: signature.toString('base64') };
}

module.exports = { GENESIS, checkpointHash, parseSignature, payload, signCheckpoint, syncSigner };
