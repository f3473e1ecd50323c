import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors';
import { createFileExclusive, writeFileAtomic } from '../credentials/files';
import type { Signature, SignedPurpose } from './signed-request';
import { signedMessage } from './signed-request';

/*
 * A principal's signing key on the machine they act from: one JSON file per principal in the keys
 * directory (WARDEN_KEYS_DIR, default ~/.config/warden/keys), owner-only. `warden keys init` makes it and
 * prints the public key to enrol in the principals directory; the control commands sign with it.
 */

const KeyFile = z
  .object({
    principal: z.string(),
    keyId: z.string(),
    publicKey: z.string(),
    privateKey: z.string(),
    createdAt: z.string(),
  })
  .strict();
type KeyFile = z.infer<typeof KeyFile>;

/** The default keys directory: $XDG_CONFIG_HOME/warden/keys or ~/.config/warden/keys. */
export function defaultKeysDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || path.join(os.homedir(), '.config');
  return path.join(base, 'warden', 'keys');
}

/** Signs requests as one principal. */
export interface Signer {
  readonly principal: string;
  readonly keyId: string;
  /** `ed25519:<hex>` */
  readonly publicKey: string;
  /** Signs `fields` for `purpose` with a fresh nonce and the current time (or `at`). */
  sign(purpose: SignedPurpose, fields: string[], at?: Date): Signature;
}

function rawPublicKey(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return `ed25519:${Buffer.from(jwk.x!, 'base64url').toString('hex')}`;
}

/** A signer over an in-memory private key. */
export function signerFor(principal: string, privateKey: KeyObject, keyId?: string): Signer {
  const publicKey = rawPublicKey(privateKey);
  const id = keyId ?? `${principal}-${createHash('sha256').update(publicKey).digest('hex').slice(0, 8)}`;
  return {
    principal,
    keyId: id,
    publicKey,
    sign(purpose, fields, at = new Date()) {
      const base = { keyId: id, nonce: randomBytes(16).toString('hex'), signedAt: at.toISOString() };
      const sig = sign(null, signedMessage(purpose, fields, base), privateKey).toString('hex');
      return { ...base, sig };
    },
  };
}

/** A new in-memory signer (tests, `warden dev`). */
export function generateSigner(principal: string): Signer {
  return signerFor(principal, generateKeyPairSync('ed25519').privateKey);
}

const fileOf = (dir: string, principal: string) => {
  if (!/^[A-Za-z0-9._@:-]{1,200}$/.test(principal) || principal.startsWith('.'))
    throw new UserError(`"${principal}" is not a valid principal id (letters, digits, . _ @ : -)`);
  return path.join(dir, `${principal.replace(/:/g, '_')}.key.json`);
};

function toFile(principal: string, key: KeyObject): KeyFile {
  const s = signerFor(principal, key);
  return {
    principal,
    keyId: s.keyId,
    publicKey: s.publicKey,
    privateKey: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    createdAt: new Date().toISOString(),
  };
}

/**
 * Creates the principal's key file (0600, directory 0700). With `rotate`, an existing key is kept beside
 * it as `<file>.<keyId>.retired` and a new one replaces it; enrol the new public key, then revoke the old.
 * @throws UserError when a key exists and `rotate` is not set.
 */
export function initKey(dir: string, principal: string, opts: { rotate?: boolean } = {}): Signer & { file: string } {
  const file = fileOf(dir, principal);
  const entry = toFile(principal, generateKeyPairSync('ed25519').privateKey);
  const text = `${JSON.stringify(entry, null, 2)}\n`;
  if (fs.existsSync(file)) {
    if (!opts.rotate)
      throw new UserError(
        `${principal} already has a key (${file}) — use --rotate to make a new one, or \`warden keys show --as ${principal}\``,
      );
    const old = readKeyFile(file);
    fs.renameSync(file, `${file}.${old.keyId}.retired`);
    writeFileAtomic(file, text);
  } else if (!createFileExclusive(file, text)) {
    throw new UserError(`${principal}'s key was created by another process meanwhile (${file})`);
  }
  return { ...loadSigner(dir, principal), file };
}

function readKeyFile(file: string): KeyFile {
  const parsed = KeyFile.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new UserError(`${file} is not a Warden key file — remove it and run \`warden keys init\``);
  return parsed.data;
}

/**
 * The principal's signer from the keys directory.
 * @throws UserError when there is no key (saying how to make one) or the file is readable by others.
 */
export function loadSigner(dir: string, principal: string): Signer {
  const file = fileOf(dir, principal);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError(
      `no signing key for ${principal} in ${dir} — run \`warden keys init --as ${principal}\` and enrol the public key it prints in the policy's principals`,
    );
  }
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
    throw new UserError(`${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
  const k = readKeyFile(file);
  if (k.principal !== principal) throw new UserError(`${file} holds ${k.principal}'s key, not ${principal}'s`);
  return signerFor(principal, createPrivateKey(k.privateKey), k.keyId);
}
