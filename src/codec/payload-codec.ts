import type { Payload, PayloadCodec } from '@temporalio/common';
import protobuf from 'protobufjs';
import { AuthenticationFailed, fromWire, open, seal, toWire } from '../credentials/aead';
import type { KeyRing } from '../credentials/keys';

/*
 * Temporal payload encryption. Each payload is serialised as Temporal's own `Payload` protobuf message
 * (metadata and data together, so the original encoding is hidden too), encrypted with AES-256-GCM, and
 * sent as a new payload `{ encoding: binary/encrypted, encryption-key-id: <id> }` whose data is
 * `nonce || ciphertext || tag` — the layout of Temporal's encryption samples in every SDK.
 */

/** `encoding` metadata of an encrypted payload. */
export const ENCODING_ENCRYPTED = 'binary/encrypted';
/** Metadata key naming the codec key a payload was encrypted under. */
export const METADATA_KEY_ID = 'encryption-key-id';

// temporal.api.common.v1.Payload, fields 1 and 2: byte-identical to @temporalio/proto's encoding.
const PayloadMessage = new protobuf.Type('Payload')
  .add(new protobuf.MapField('metadata', 1, 'string', 'bytes'))
  .add(new protobuf.Field('data', 2, 'bytes'));
new protobuf.Root().define('temporal.api.common.v1').add(PayloadMessage);

/** Thrown when an encrypted payload cannot be decrypted; the message names the key id and what to do. */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/**
 * A Temporal `PayloadCodec` encrypting every payload under the ring's active key and decrypting under any
 * key of the ring (old keys stay until no history needs them). Payloads that are not encrypted pass
 * through decode unchanged, so a signal sent without the codec (e.g. by the official `temporal` CLI) still
 * reaches the workflow.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {}

  /** The id of the key new payloads are encrypted under. */
  get activeKeyId(): string {
    return this.ring.activeId;
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.ring.keys.get(this.ring.activeId);
    if (!key) return Promise.reject(new Error('the codec key ring has no active key'));
    return Promise.resolve(
      payloads.map((p) => {
        const inner = PayloadMessage.encode({ metadata: p.metadata ?? {}, data: p.data ?? new Uint8Array() }).finish();
        return {
          metadata: { encoding: utf8(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: utf8(this.ring.activeId) },
          data: toWire(seal(key, inner)),
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    try {
      return Promise.resolve(payloads.map((p) => this.decodeOne(p)));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private decodeOne(p: Payload): Payload {
    if (text(p.metadata?.encoding) !== ENCODING_ENCRYPTED) return p;
    const keyId = text(p.metadata?.[METADATA_KEY_ID]);
    const key = keyId ? this.ring.keys.get(keyId) : undefined;
    if (!keyId || !key) {
      throw new PayloadDecryptionError(
        `payload is encrypted under codec key ${keyId ?? '(none named)'}, which is not configured ` +
          `(configured: ${[...this.ring.keys.keys()].join(', ')}) — keep retired keys in WARDEN_CODEC_KEYS or the ` +
          'codec key file until no history needs them',
      );
    }
    let inner: Buffer;
    try {
      inner = open(key, fromWire(p.data ?? new Uint8Array()));
    } catch (err) {
      if (!(err instanceof AuthenticationFailed)) throw err;
      throw new PayloadDecryptionError(
        `payload encrypted under codec key ${keyId} does not authenticate — it was modified, or a different key has that id`,
      );
    }
    const decoded = PayloadMessage.decode(inner) as unknown as {
      metadata?: Record<string, Uint8Array>;
      data?: Uint8Array;
    };
    return { metadata: decoded.metadata ?? {}, data: decoded.data ?? new Uint8Array() };
  }
}

/** Creates the encryption codec for a key ring (see {@link EncryptionCodec}). */
export function createPayloadCodec(ring: KeyRing): EncryptionCodec {
  return new EncryptionCodec(ring);
}
