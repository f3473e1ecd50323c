import { spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { createPublicKey, sign } from 'node:crypto';
import type { CheckpointSigner } from './checkpoints';
import { keyIdOf } from './checkpoints';
import { parseSignature } from './threads/checkpoint';

export { parseSignature };

/**
 * A signer holding an Ed25519 private key in this process.
 * @throws TypeError when the key is not an Ed25519 private key.
 */
export function createCheckpointSigner(privateKey: KeyObject, description = 'signing key'): CheckpointSigner {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`the audit signing key must be an Ed25519 private key, not ${privateKey.asymmetricKeyType}`);
  }
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    description,
    signPayload: (payload) => Promise.resolve(sign(null, payload, privateKey)),
    threadSpec: () => ({ kind: 'key', privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }),
  };
}

/** Options for {@link commandSigner}. */
export interface CommandSignerOptions {
  /** Shell command (run with `/bin/sh -c`): reads the payload on stdin, prints the base64 signature. */
  command: string;
  /** The Ed25519 public key of the key the command signs with (PEM or KeyObject). */
  publicKey: KeyObject | string;
  /** Kill the command after this long. @default 10000 */
  timeoutMs?: number;
}

/**
 * A signer that runs an external command for every checkpoint, so the private key can live in a KMS,
 * an HSM or another account: the command receives the exact payload bytes on stdin and prints an
 * Ed25519 signature over them, base64, on stdout (exit 0). It inherits the environment (a KMS client
 * needs its credentials). Signatures are checked against `publicKey` before use (see signCheckpoint).
 */
export function commandSigner(opts: CommandSignerOptions): CheckpointSigner {
  const publicKey = typeof opts.publicKey === 'string' ? createPublicKey(opts.publicKey) : opts.publicKey;
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`the signer command's public key must be Ed25519, not ${publicKey.asymmetricKeyType}`);
  }
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    description: 'signer command (WARDEN_AUDIT_SIGNER_COMMAND)',
    signPayload: (payload) => runSignerCommand(opts.command, payload, timeoutMs),
    threadSpec: () => ({
      kind: 'command',
      command: opts.command,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
      timeoutMs,
    }),
  };
}

/** Runs the signer command once. @throws Error saying what the command did wrong (exit, timeout, output). */
export function runSignerCommand(command: string, payload: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-300)));
    child.stdin.on('error', () => undefined); // a command that exits without reading stdin
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`the audit signer command could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) return reject(new Error(`the audit signer command was killed (${signal}) after ${timeoutMs} ms`));
      if (code !== 0) {
        return reject(
          new Error(`the audit signer command exited ${code}${err ? `: ${err.trim().split('\n').pop()}` : ''}`),
        );
      }
      try {
        resolve(parseSignature(Buffer.concat(out).toString('utf8')));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    child.stdin.end(payload);
  });
}
