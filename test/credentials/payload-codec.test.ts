import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { generateKey } from '../../src/credentials/aead';
import { keyRing } from '../../src/credentials/keys';
import { loadCodecKeyRing } from '../../src/codec/codec-keys';
import {
  ENCODING_ENCRYPTED,
  EncryptionCodec,
  METADATA_KEY_ID,
  PayloadDecryptionError,
} from '../../src/codec/payload-codec';
import { loadConfig } from '../../src/config';

const CANARY = 'canary-payload-3c1d';
const text = (b?: Uint8Array | null) => Buffer.from(b ?? []).toString('utf8');
const payload = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);

describe('payload codec (AES-256-GCM)', () => {
  const k1 = { id: 'k1', key: generateKey() };
  const k2 = { id: 'k2', key: generateKey() };

  it('round-trips payloads and leaves no plaintext in the encoded ones', async () => {
    const codec = new EncryptionCodec(keyRing([k1]));
    const input = [payload({ secret: CANARY }), payload(undefined), payload(new Uint8Array([1, 2, 3]))];
    const encoded = await codec.encode(input);
    for (const p of encoded) {
      expect(text(p.metadata?.encoding)).toBe(ENCODING_ENCRYPTED);
      expect(text(p.metadata?.[METADATA_KEY_ID])).toBe('k1');
      expect(Object.keys(p.metadata ?? {}).sort()).toEqual(['encoding', METADATA_KEY_ID]);
    }
    expect(Buffer.from(encoded[0]!.data!).includes(CANARY)).toBe(false);
    expect(Buffer.from(encoded[0]!.data!).includes('json/plain')).toBe(false);
    const decoded = await codec.decode(encoded);
    expect(defaultPayloadConverter.fromPayload(decoded[0]!)).toEqual({ secret: CANARY });
    expect(defaultPayloadConverter.fromPayload(decoded[1]!)).toBeUndefined();
    expect(defaultPayloadConverter.fromPayload(decoded[2]!)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('encrypts the same value differently each time (fresh nonce)', async () => {
    const codec = new EncryptionCodec(keyRing([k1]));
    const [a, b] = await codec.encode([payload(CANARY), payload(CANARY)]);
    expect(Buffer.compare(Buffer.from(a!.data!), Buffer.from(b!.data!))).not.toBe(0);
  });

  it('serialises the inner payload as Temporal’s Payload protobuf (interoperable with other SDKs’ codecs)', async () => {
    const original = payload({ secret: CANARY });
    const inner = temporal.api.common.v1.Payload.encode(original).finish();
    const decoded = await new EncryptionCodec(keyRing([k1])).decode([
      {
        metadata: { encoding: Buffer.from(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: Buffer.from('k1') },
        data: await encryptLikeSample(k1.key, inner),
      },
    ]);
    expect(defaultPayloadConverter.fromPayload(decoded[0]!)).toEqual({ secret: CANARY });
  });

  it('after rotation encrypts under the new key and still decrypts payloads written under the old one', async () => {
    const before = new EncryptionCodec(keyRing([k1]));
    const old = await before.encode([payload(CANARY)]);
    const after = new EncryptionCodec(keyRing([k2, k1]));
    const fresh = await after.encode([payload('new')]);
    expect(text(fresh[0]!.metadata?.[METADATA_KEY_ID])).toBe('k2');
    expect(defaultPayloadConverter.fromPayload((await after.decode(old))[0]!)).toBe(CANARY);
    const retired = new EncryptionCodec(keyRing([k2]));
    await expect(retired.decode(old)).rejects.toThrow(PayloadDecryptionError);
    await expect(retired.decode(old)).rejects.toThrow(
      /encrypted under codec key k1, which is not configured \(configured: k2\) — keep retired keys/,
    );
  });

  it('passes unencrypted payloads through decode unchanged (e.g. a signal from the temporal CLI)', async () => {
    const plain = payload({ approvalId: 'gate.0', decision: 'approve' });
    const [out] = await new EncryptionCodec(keyRing([k1])).decode([plain]);
    expect(out).toBe(plain);
  });

  it('refuses a tampered payload', async () => {
    const codec = new EncryptionCodec(keyRing([k1]));
    const [p] = await codec.encode([payload(CANARY)]);
    const data = Buffer.from(p!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...p, data }])).rejects.toThrow(/does not authenticate/);
  });

  it('is configured from WARDEN_CODEC_KEYS (first key active) and is off without it', () => {
    const keys = `new=${k2.key.toString('base64')},old=${k1.key.toString('base64')}`;
    const ring = loadCodecKeyRing(loadConfig({ WARDEN_CODEC_KEYS: keys }))!;
    expect(ring.activeId).toBe('new');
    expect([...ring.keys.keys()]).toEqual(['new', 'old']);
    expect(loadCodecKeyRing(loadConfig({}))).toBeUndefined();
  });

  it('rejects malformed keys in configuration without echoing them', () => {
    expect(() => loadConfig({ WARDEN_CODEC_KEYS: 'k=c2hvcnQ=' })).toThrow(/WARDEN_CODEC_KEYS=\(hidden\)/);
    expect(() => loadConfig({ WARDEN_MASTER_KEY: 'not-a-key-but-secretish' })).toThrow(
      /WARDEN_MASTER_KEY=\(hidden\): entry 1 is not a base64-encoded 32-byte key/,
    );
    try {
      loadConfig({ WARDEN_MASTER_KEY: 'not-a-key-but-secretish' });
    } catch (err) {
      expect((err as Error).message).not.toContain('secretish');
    }
  });
});

/** AES-256-GCM as Temporal's encryption samples do it: nonce || ciphertext || tag (WebCrypto layout). */
async function encryptLikeSample(key: Buffer, plaintext: Uint8Array): Promise<Uint8Array> {
  const { webcrypto } = await import('node:crypto');
  const iv = webcrypto.getRandomValues(new Uint8Array(12));
  const k = await webcrypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
  const ct = new Uint8Array(await webcrypto.subtle.encrypt({ name: 'AES-GCM', iv }, k, plaintext));
  return Buffer.concat([iv, ct]);
}
