import { ConfigError } from '../errors';
import { generateKey, keyIdFor } from './aead';
import { VaultError } from './errors';
import { createFileExclusive, isLooselyPermitted } from './files';
import type { KeyEntry, KeyRing } from './keys';
import { formatKeyFile, keyRing, parseKeyList, readKeyFile, writeKeyFile } from './keys';

/** Prefix of derived master-key ids. */
export const MASTER_KEY_ID_PREFIX = 'mk-';

/** Where the vault's master key comes from. */
export interface MasterKeyOptions {
  /** WARDEN_MASTER_KEY: a key list (active first); when set it wins and the file is not used. */
  envKeys?: string;
  /** WARDEN_MASTER_KEY_FILE (default `<dataDir>/master.key`). */
  file: string;
}

function newEntry(): KeyEntry {
  const key = generateKey();
  return { id: keyIdFor(key, MASTER_KEY_ID_PREFIX), key, createdAt: new Date().toISOString() };
}

/**
 * The vault master key ring, from WARDEN_MASTER_KEY or the key file. Generates the key file (0600) on first
 * use when neither exists, and performs the key-file half of a rotation.
 */
export class MasterKeyStore {
  /** `env` when WARDEN_MASTER_KEY is set, else `file`. */
  readonly source: 'env' | 'file';

  constructor(private readonly opts: MasterKeyOptions) {
    this.source = opts.envKeys?.trim() ? 'env' : 'file';
  }

  /** The key file path (used only when {@link source} is `file`). */
  get file(): string {
    return this.opts.file;
  }

  /** @throws VaultError saying how to provide a key, when none is configured. */
  load(): KeyRing {
    const ring = this.read();
    if (!ring) {
      throw new VaultError(
        `no vault master key: ${this.opts.file} does not exist and WARDEN_MASTER_KEY is unset — ` +
          'run `warden secrets set` or `warden dev` to generate one, or point WARDEN_MASTER_KEY_FILE at your key',
      );
    }
    return ring;
  }

  /** Like {@link load}, but generates the key file (mode 0600) when there is no key yet. */
  loadOrCreate(): { ring: KeyRing; created: boolean } {
    const existing = this.read();
    if (existing) return { ring: existing, created: false };
    // O_EXCL: when two processes race on first use, one key wins and both use it.
    const created = createFileExclusive(this.opts.file, formatKeyFile([newEntry()]));
    return { ring: this.load(), created };
  }

  /**
   * Rotation, first half: the ring to re-encrypt under. From a file: a new key becomes active and is written
   * to the file together with the old ones, so everything stays readable whatever happens next. From the
   * environment: the configured ring as is (put the new key first in WARDEN_MASTER_KEY yourself).
   */
  beginRotation(): KeyRing {
    const current = this.load();
    if (this.source === 'env') return current;
    const entries = [newEntry(), ...current.entries];
    writeKeyFile(this.opts.file, entries);
    return keyRing(entries);
  }

  /** Rotation, second half (after every secret is re-encrypted): the key file keeps only the active key. */
  finishRotation(ring: KeyRing): void {
    if (this.source === 'env') return;
    writeKeyFile(this.opts.file, ring.entries.slice(0, 1));
  }

  /** Things an operator should fix, e.g. a key file readable by other users. */
  warnings(): string[] {
    if (this.source === 'file' && isLooselyPermitted(this.opts.file)) {
      return [`${this.opts.file} is readable by other users — run \`chmod 600 ${this.opts.file}\``];
    }
    return [];
  }

  private read(): KeyRing | undefined {
    if (this.source === 'env') {
      const parsed = parseKeyList(this.opts.envKeys ?? '', MASTER_KEY_ID_PREFIX);
      if (typeof parsed === 'string') throw new ConfigError([`WARDEN_MASTER_KEY: ${parsed}`]);
      return keyRing(parsed);
    }
    return readKeyFile(this.opts.file, MASTER_KEY_ID_PREFIX);
  }
}
