import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors';
import type { CheckpointSigner } from './checkpoints';
import { createCheckpointSigner } from './checkpoints';

/** File name of the generated checkpoint signing key inside the data dir (PEM, mode 0600). */
export const SIGNING_KEY_FILE = 'audit-signing.key';
/** File name of the published public key inside the data dir (PEM): give it to whoever verifies. */
export const PUBLIC_KEY_FILE = 'audit-signing.pub';

/** Where the signing key comes from. */
export interface SigningKeyOptions {
  /** Data dir: where a generated key is written and the public key published. */
  dataDir: string;
  /** An operator-provided private key (PEM); when set, nothing is generated. */
  keyFile?: string | undefined;
  /** Told about non-fatal problems (a key file readable by others, a public key that could not be published). */
  onWarning?: (message: string) => void;
}

function readPrivateKey(file: string, setting: string): KeyObject {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${setting}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new ConfigError([`${setting}: ${file} is not a PEM private key: ${(err as Error).message}`]);
  }
}

/**
 * Loads the checkpoint signing key, generating one on first use.
 *
 * With `keyFile`, that key is used (it must exist). Otherwise `<dataDir>/audit-signing.key` is read, or
 * created (Ed25519, PKCS#8 PEM, mode 0600; two processes racing agree on one key). Either way the public
 * key is published as `<dataDir>/audit-signing.pub` so anyone can verify checkpoints.
 *
 * @throws ConfigError when the key cannot be read or is not an Ed25519 private key.
 */
export function loadOrCreateSigningKey(opts: SigningKeyOptions): CheckpointSigner {
  const warn = opts.onWarning ?? (() => undefined);
  const file = opts.keyFile ?? path.join(opts.dataDir, SIGNING_KEY_FILE);
  const setting = opts.keyFile ? 'WARDEN_AUDIT_SIGNING_KEY_FILE' : 'audit signing key';
  if (!opts.keyFile && !fs.existsSync(file)) {
    fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    try {
      fs.writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process created it first: use theirs, so the fleet signs with one key.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const key = readPrivateKey(file, setting);
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    warn(`${file} is readable by other users (mode ${mode.toString(8)}): run chmod 600 ${file}`);
  }
  let signer: CheckpointSigner;
  try {
    signer = createCheckpointSigner(key);
  } catch (err) {
    throw new ConfigError([`${setting}: ${file}: ${(err as Error).message}`]);
  }
  publishPublicKey(opts.dataDir, signer.publicKey, warn);
  return signer;
}

function publishPublicKey(dataDir: string, key: KeyObject, warn: (m: string) => void): void {
  const file = path.join(dataDir, PUBLIC_KEY_FILE);
  const pem = key.export({ type: 'spki', format: 'pem' }) as string;
  try {
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === pem) return;
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, pem, { mode: 0o644 });
  } catch (err) {
    warn(`could not publish the audit public key to ${file}: ${(err as Error).message}`);
  }
}

/**
 * Reads public keys for verification: PEM files holding a public key, or a private key whose public
 * half is used. @throws ConfigError naming each file that cannot be read or parsed.
 */
export function readPublicKeyFiles(files: string[], setting = 'public key'): KeyObject[] {
  const problems: string[] = [];
  const keys: KeyObject[] = [];
  for (const file of files) {
    try {
      keys.push(createPublicKey(fs.readFileSync(file, 'utf8')));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`${setting}: ${file}: ${code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return keys;
}

/**
 * The public keys found in the data dir (the published `.pub` and the local signing key's public
 * half), for a verifier that was given none. An auditor should pass keys obtained out of band instead:
 * whoever can write the data dir could also replace these.
 */
export function localPublicKeys(dataDir: string, keyFile?: string): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const file of [path.join(dataDir, PUBLIC_KEY_FILE), keyFile ?? path.join(dataDir, SIGNING_KEY_FILE)]) {
    try {
      keys.push(createPublicKey(fs.readFileSync(file, 'utf8')));
    } catch {
      // absent or unreadable: the verifier reports checkpoints signed by unknown keys
    }
  }
  return keys;
}
