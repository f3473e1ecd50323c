import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors';
import type { CheckpointSigner } from './checkpoints';
import { keyIdOf } from './checkpoints';
import { commandSigner, createCheckpointSigner } from './signers';
import { isReadableByOthers } from '../credentials/files';

/** File name of the generated checkpoint signing key inside the keys dir (PEM, mode 0600). */
export const SIGNING_KEY_FILE = 'audit-signing.key';
/** File name of the published public key inside the keys dir (PEM): give it to whoever verifies. */
export const PUBLIC_KEY_FILE = 'audit-signing.pub';

/** Where the checkpoint signer comes from (see {@link openCheckpointSigner}). */
export interface SignerOptions {
  /** The ledger's data dir: no signing key may live inside it (checked when given). */
  dataDir?: string | undefined;
  /** Where a zero-config key is generated and every public key published (outside `dataDir`). */
  keysDir: string;
  /** An operator-provided Ed25519 private key (PEM, mode 0600 or stricter). */
  keyFile?: string | undefined;
  /** An external signer command (see commandSigner); wins over `keyFile`. */
  command?: string | undefined;
  /** The command's public key (PEM); required with `command`. */
  commandPublicKeyFile?: string | undefined;
  /** Told about non-fatal problems (a public key that could not be published, a stale key). */
  onWarning?: (message: string) => void;
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function readPrivateKey(file: string, setting: string): KeyObject {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${setting}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  // Refused, not warned: a key others can read signs for anyone who reads it.
  const mode = fs.statSync(file).mode & 0o777;
  if (isReadableByOthers(file)) {
    throw new ConfigError([
      `${setting}: ${file} is readable by group or others (mode ${mode.toString(8)}): run chmod 600 ${file}`,
    ]);
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new ConfigError([`${setting}: ${file} is not a PEM private key: ${(err as Error).message}`]);
  }
}

/**
 * Opens the checkpoint signer the configuration names, in this order: the external signer command
 * (WARDEN_AUDIT_SIGNER_COMMAND with WARDEN_AUDIT_SIGNER_PUBLIC_KEY), an operator key file
 * (WARDEN_AUDIT_SIGNING_KEY_FILE), or the zero-config key in `keysDir`, generated on first use
 * (Ed25519, PKCS#8 PEM, mode 0600; processes racing agree on one key). Its public key is published as
 * `<keysDir>/audit-signing.pub`. Keys never live in the data dir or the database.
 *
 * @throws ConfigError saying what to fix: a missing or unreadable key, one that group or others can read,
 *   one that is not Ed25519, a key inside the data dir, a command without its public key.
 */
export function openCheckpointSigner(opts: SignerOptions): CheckpointSigner {
  const warn = opts.onWarning ?? (() => undefined);
  const legacy = opts.dataDir ? path.join(opts.dataDir, SIGNING_KEY_FILE) : undefined;
  if (legacy && fs.existsSync(legacy)) {
    warn(
      `${legacy} is no longer used: signing keys live outside the data dir now (${opts.keysDir}); delete it, or move it to WARDEN_AUDIT_SIGNING_KEY_FILE to keep signing with it`,
    );
  }
  let signer: CheckpointSigner;
  if (opts.command) {
    if (!opts.commandPublicKeyFile) {
      throw new ConfigError([
        'WARDEN_AUDIT_SIGNER_COMMAND needs WARDEN_AUDIT_SIGNER_PUBLIC_KEY: the PEM public key of the key the command signs with',
      ]);
    }
    const [publicKey] = readPublicKeyFiles([opts.commandPublicKeyFile], 'WARDEN_AUDIT_SIGNER_PUBLIC_KEY');
    try {
      signer = commandSigner({ command: opts.command, publicKey: publicKey! });
    } catch (err) {
      throw new ConfigError([`WARDEN_AUDIT_SIGNER_PUBLIC_KEY: ${(err as Error).message}`]);
    }
  } else {
    const setting = opts.keyFile ? 'WARDEN_AUDIT_SIGNING_KEY_FILE' : 'audit signing key';
    const file = opts.keyFile ?? path.join(opts.keysDir, SIGNING_KEY_FILE);
    if (opts.dataDir && isInside(file, opts.dataDir)) {
      throw new ConfigError([
        `${opts.keyFile ? setting : 'WARDEN_AUDIT_KEYS_DIR'}: ${file} is inside the data dir ${opts.dataDir}; keep the signing key outside it, so write access to the ledger does not give the key`,
      ]);
    }
    if (!opts.keyFile) generateKey(file);
    try {
      signer = createCheckpointSigner(readPrivateKey(file, setting), `key file ${file}`);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError([`${setting}: ${file}: ${(err as Error).message}`]);
    }
  }
  publishPublicKey(opts.keysDir, signer.publicKey, warn);
  return signer;
}

function generateKey(file: string): void {
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  try {
    fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs, so the processes sign with one key.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Publishes the signer's public key as `<keysDir>/audit-signing.pub`. A different key published
 * before (a rotation) is kept beside it as `audit-signing.<keyId>.pub`: checkpoints it signed still
 * need it to verify.
 */
function publishPublicKey(keysDir: string, key: KeyObject, warn: (m: string) => void): void {
  const file = path.join(keysDir, PUBLIC_KEY_FILE);
  const pem = key.export({ type: 'spki', format: 'pem' }) as string;
  try {
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (before === pem) return;
    fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    if (before !== undefined) retirePublicKey(keysDir, before, warn);
    fs.writeFileSync(file, pem, { mode: 0o644 });
  } catch (err) {
    warn(`could not publish the audit public key to ${file}: ${(err as Error).message}`);
  }
}

function retirePublicKey(keysDir: string, pem: string, warn: (m: string) => void): void {
  let keyId: string;
  try {
    keyId = keyIdOf(createPublicKey(pem));
  } catch {
    return warn(`${path.join(keysDir, PUBLIC_KEY_FILE)} held no public key; replacing it`);
  }
  const retired = path.join(keysDir, `audit-signing.${keyId.replace(/^ed25519:/, '')}.pub`);
  if (!fs.existsSync(retired)) fs.writeFileSync(retired, pem, { mode: 0o644 });
}

/**
 * The public key a signer on this host published in `keysDir` (none when absent or unreadable): a
 * convenience for checks on the ledger's own machine, such as compliance evidence. An auditor passes a
 * key obtained out of band instead, since whoever can write this directory could replace it.
 */
export function localPublicKeys(keysDir: string): KeyObject[] {
  try {
    return [createPublicKey(fs.readFileSync(path.join(keysDir, PUBLIC_KEY_FILE), 'utf8'))];
  } catch {
    return []; // the verifier reports checkpoints signed by keys it does not know
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
