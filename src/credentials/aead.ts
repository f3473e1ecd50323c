import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/*
 * AES-256-GCM, the one cipher Warden uses for data at rest (the vault) and in Temporal (the payload codec).
 * A fresh random 96-bit nonce per message: with random nonces one key stays safe for ~2^32 messages, far
 * beyond what a vault or a codec key sees between rotations.
 */

/** Key length of AES-256, in bytes. */
export const KEY_BYTES = 32;
/** GCM nonce length (96 bits, the size GCM is designed for). */
export const NONCE_BYTES = 12;
/** GCM authentication tag length. */
export const TAG_BYTES = 16;

/** The parts of one AES-256-GCM message. */
export interface Sealed {
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** Thrown when a ciphertext does not authenticate: wrong key, or the data was modified. */
export class AuthenticationFailed extends Error {
  override readonly name = 'AuthenticationFailed';
}

/** 32 random bytes from the OS CSPRNG: a new AES-256 key. */
export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/**
 * A stable, non-secret identifier for a key: `<prefix><16 hex chars>` of a domain-separated SHA-256.
 * Lets a reader pick the right key (and say which one is missing) without revealing anything usable.
 */
export function keyIdFor(key: Buffer, prefix: string): string {
  return `${prefix}${createHash('sha256').update('warden-key-id\0').update(key).digest('hex').slice(0, 16)}`;
}

/** Encrypts `plaintext` under `key`; `aad` is authenticated but not encrypted (it binds context). */
export function seal(key: Buffer, plaintext: Uint8Array, aad?: Uint8Array): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  if (aad) cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Decrypts and authenticates.
 * @throws AuthenticationFailed when the key, the AAD or any byte of the message is wrong.
 */
export function open(key: Buffer, sealed: Sealed, aad?: Uint8Array): Buffer {
  if (sealed.nonce.length !== NONCE_BYTES || sealed.tag.length !== TAG_BYTES) {
    throw new AuthenticationFailed('malformed ciphertext (bad nonce or tag length)');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce, { authTagLength: TAG_BYTES });
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    throw new AuthenticationFailed('ciphertext did not authenticate');
  }
}

/** `nonce || ciphertext || tag`: the compact wire form (the layout Temporal's encryption samples use). */
export function toWire(sealed: Sealed): Buffer {
  return Buffer.concat([sealed.nonce, sealed.ciphertext, sealed.tag]);
}

/** Splits the wire form back into its parts. @throws AuthenticationFailed when it is too short. */
export function fromWire(bytes: Uint8Array): Sealed {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < NONCE_BYTES + TAG_BYTES) throw new AuthenticationFailed('ciphertext too short');
  return {
    nonce: buf.subarray(0, NONCE_BYTES),
    ciphertext: buf.subarray(NONCE_BYTES, buf.length - TAG_BYTES),
    tag: buf.subarray(buf.length - TAG_BYTES),
  };
}
