import fs from 'node:fs';
import { z } from 'zod';
import { AuthenticationFailed, open, seal } from './aead';
import { VaultError } from './errors';
import { withFileLock, writeFileAtomic } from './files';
import type { KeyRing } from './keys';
import type { MasterKeyStore } from './master-key';
import type { SecretBackend, SecretMetadata } from './store';
import { assertSecretName } from './store';

/*
 * The file vault: one JSON file holding, per secret, AES-256-GCM ciphertext under the master key, with a
 * fresh 96-bit nonce, the key id, and AAD binding the secret's name and key id (so a ciphertext moved to
 * another name does not decrypt). Names and timestamps are plaintext; values never are.
 */

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const SealedSecret = z.object({
  alg: z.literal('AES-256-GCM'),
  keyId: z.string().min(1),
  nonce: b64,
  ciphertext: b64,
  tag: b64,
  createdAt: z.string(),
  updatedAt: z.string(),
});
type SealedSecret = z.infer<typeof SealedSecret>;
const VaultDocument = z.object({ version: z.literal(1), secrets: z.record(z.string(), SealedSecret) });
type VaultDocument = z.infer<typeof VaultDocument>;

/** Options for {@link FileVault}. */
export interface FileVaultOptions {
  /** The vault file (WARDEN_VAULT_FILE, default `<dataDir>/vault.json`); written 0600, atomically. */
  file: string;
  /** The master key ring. Not needed to list or delete. */
  keys: MasterKeyStore;
}

/** What {@link FileVault.rotateKey} did. */
export interface RotationResult {
  /** The key every secret is now encrypted under. */
  keyId: string;
  /** How many secrets were re-encrypted. */
  reencrypted: number;
  /** Keys no longer needed (remove them from WARDEN_MASTER_KEY when it holds them). */
  retiredKeyIds: string[];
}

/** Runs `fn` so that a synchronous throw becomes a rejection. */
function later<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}

function aad(name: string, keyId: string): Buffer {
  return Buffer.from(`warden-vault/v1\0${name}\0${keyId}`, 'utf8');
}

/**
 * Secrets encrypted at rest in a JSON file. Reads the file on every call, so values set through the CLI
 * reach running workers without a restart. Writers serialise on `<file>.lock`.
 */
export class FileVault implements SecretBackend {
  readonly name = 'vault';
  readonly writable = true;

  constructor(private readonly opts: FileVaultOptions) {}

  /** The vault file path. */
  get file(): string {
    return this.opts.file;
  }

  /** @throws VaultError when the secret exists but cannot be decrypted (missing or wrong key, damaged file). */
  get(name: string): Promise<string | undefined> {
    return later(() => {
      const entry = this.read().secrets[name];
      return entry ? this.decrypt(name, entry, this.opts.keys.load()) : undefined;
    });
  }

  has(name: string): Promise<boolean> {
    return later(() => name in this.read().secrets);
  }

  /** Encrypts under the active master key (generating the key file on first use) and stores atomically. */
  async set(name: string, value: string): Promise<void> {
    assertSecretName(name);
    if (!value) throw new VaultError(`refusing to store an empty value for "${name}"`);
    const { ring } = this.opts.keys.loadOrCreate();
    await this.locked(() => {
      const doc = this.read();
      const now = new Date().toISOString();
      doc.secrets[name] = this.encrypt(name, value, ring, doc.secrets[name]?.createdAt ?? now, now);
      this.write(doc);
    });
  }

  async delete(name: string): Promise<boolean> {
    return this.locked(() => {
      const doc = this.read();
      if (!(name in doc.secrets)) return false;
      delete doc.secrets[name];
      this.write(doc);
      return true;
    });
  }

  list(): Promise<SecretMetadata[]> {
    return later(() => {
      const { secrets } = this.read();
      return Object.keys(secrets)
        .sort()
        .map((name) => ({ name, updatedAt: secrets[name]?.updatedAt }));
    });
  }

  /**
   * Re-encrypts every secret under a new master key, atomically. With a key file, a new key is generated
   * and written next to the old one first, so the vault stays readable if this is interrupted; the old key
   * is dropped only after the re-encrypted vault is in place. With WARDEN_MASTER_KEY, put the new key first
   * in the list (keeping the old one), run this, then remove the old key.
   * @throws VaultError when a secret cannot be decrypted (nothing is changed then).
   */
  async rotateKey(): Promise<RotationResult> {
    return this.locked(() => {
      const ring = this.opts.keys.beginRotation();
      const doc = this.read();
      let reencrypted = 0;
      for (const [name, entry] of Object.entries(doc.secrets)) {
        if (entry.keyId === ring.activeId && this.opts.keys.source === 'env') continue;
        const value = this.decrypt(name, entry, ring);
        doc.secrets[name] = this.encrypt(name, value, ring, entry.createdAt, entry.updatedAt);
        reencrypted++;
      }
      this.write(doc);
      this.opts.keys.finishRotation(ring);
      return {
        keyId: ring.activeId,
        reencrypted,
        retiredKeyIds: [...ring.keys.keys()].filter((id) => id !== ring.activeId),
      };
    });
  }

  private encrypt(name: string, value: string, ring: KeyRing, createdAt: string, updatedAt: string): SealedSecret {
    const key = ring.keys.get(ring.activeId);
    if (!key) throw new VaultError('the master key ring has no active key');
    const s = seal(key, Buffer.from(value, 'utf8'), aad(name, ring.activeId));
    return {
      alg: 'AES-256-GCM',
      keyId: ring.activeId,
      nonce: s.nonce.toString('base64'),
      ciphertext: s.ciphertext.toString('base64'),
      tag: s.tag.toString('base64'),
      createdAt,
      updatedAt,
    };
  }

  private decrypt(name: string, entry: SealedSecret, ring: KeyRing): string {
    const key = ring.keys.get(entry.keyId);
    if (!key) {
      throw new VaultError(
        `secret "${name}" is encrypted under master key ${entry.keyId}, which is not configured ` +
          `(configured: ${[...ring.keys.keys()].join(', ')}) — set WARDEN_MASTER_KEY or WARDEN_MASTER_KEY_FILE ` +
          'to the key this vault was written with',
      );
    }
    try {
      const sealed = {
        nonce: Buffer.from(entry.nonce, 'base64'),
        ciphertext: Buffer.from(entry.ciphertext, 'base64'),
        tag: Buffer.from(entry.tag, 'base64'),
      };
      return open(key, sealed, aad(name, entry.keyId)).toString('utf8');
    } catch (err) {
      if (!(err instanceof AuthenticationFailed)) throw err;
      throw new VaultError(
        `secret "${name}" does not decrypt under master key ${entry.keyId}: ${this.opts.file} was modified or ` +
          'belongs to a different key with the same id — restore the vault and its key from backup',
      );
    }
  }

  private read(): VaultDocument {
    let text: string;
    try {
      text = fs.readFileSync(this.opts.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, secrets: {} };
      throw new VaultError(`cannot read ${this.opts.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new VaultError(`${this.opts.file} is not valid JSON — restore it from backup`);
    }
    const parsed = VaultDocument.safeParse(json);
    if (!parsed.success)
      throw new VaultError(`${this.opts.file} is not a Warden vault (version 1) — restore it from backup`);
    return parsed.data;
  }

  private write(doc: VaultDocument): void {
    writeFileAtomic(this.opts.file, `${JSON.stringify(doc, null, 2)}\n`);
  }

  private async locked<T>(fn: () => T): Promise<T> {
    try {
      return await withFileLock(this.opts.file, fn);
    } catch (err) {
      if (err instanceof VaultError) throw err;
      throw new VaultError((err as Error).message);
    }
  }
}
