import type { DataConverter } from '@temporalio/common';
import type { WardenConfig } from '../config';
import { ConfigError } from '../errors';
import { generateKey, keyIdFor } from '../credentials/aead';
import { withFileLock } from '../credentials/files';
import type { KeyEntry, KeyRing } from '../credentials/keys';
import { keyRing, parseKeyList, readKeyFile, writeKeyFile } from '../credentials/keys';
import { EncryptionCodec } from './payload-codec';

/** Prefix of derived codec key ids. */
export const CODEC_KEY_ID_PREFIX = 'ck-';

/**
 * The payload codec key ring from WARDEN_CODEC_KEYS (wins) or WARDEN_CODEC_KEY_FILE.
 * @returns undefined when neither is set: payloads are not encrypted.
 * @throws ConfigError when the configured keys are unusable (a missing key file included).
 */
export function loadCodecKeyRing(config: WardenConfig): KeyRing | undefined {
  const { keys, keyFile } = config.codec;
  if (keys?.trim()) {
    const parsed = parseKeyList(keys, CODEC_KEY_ID_PREFIX);
    if (typeof parsed === 'string') throw new ConfigError([`WARDEN_CODEC_KEYS: ${parsed}`]);
    return keyRing(parsed);
  }
  if (!keyFile) return undefined;
  const ring = readKeyFile(keyFile, CODEC_KEY_ID_PREFIX);
  if (!ring) {
    throw new ConfigError([
      `WARDEN_CODEC_KEY_FILE=${keyFile}: file not found — create it with \`warden codec-key rotate\` or unset the setting`,
    ]);
  }
  return ring;
}

/** The encryption codec when a codec key is configured, else undefined. */
export function codecFromConfig(config: WardenConfig): EncryptionCodec | undefined {
  const ring = loadCodecKeyRing(config);
  return ring ? new EncryptionCodec(ring) : undefined;
}

/**
 * `{ dataConverter }` to spread into Temporal client and worker options: the encryption codec when a key
 * is configured, nothing otherwise (so behaviour without a key is the SDK default).
 */
export function dataConverterOption(config: WardenConfig): { dataConverter?: DataConverter } {
  const codec = codecFromConfig(config);
  return codec ? { dataConverter: { payloadCodecs: [codec] } } : {};
}

/**
 * Adds a new active key to a codec key file (creating it, 0600, when absent) and keeps every older key
 * for decryption. Optionally drops keys beyond the newest `keep` — only once no retained history,
 * schedule or pending signal still needs them.
 */
export async function rotateCodecKeyFile(file: string, opts: { keep?: number } = {}): Promise<KeyRing> {
  return withFileLock(file, () => {
    const current = readKeyFile(file, CODEC_KEY_ID_PREFIX)?.entries ?? [];
    const key = generateKey();
    const entry: KeyEntry = { id: keyIdFor(key, CODEC_KEY_ID_PREFIX), key, createdAt: new Date().toISOString() };
    const entries = [entry, ...current].slice(0, opts.keep ?? Infinity);
    writeKeyFile(file, entries);
    return keyRing(entries);
  });
}
