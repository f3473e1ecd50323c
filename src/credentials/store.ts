import { VaultError } from './errors';

/** Secret names: lower-case letters, digits, `.`, `_`, `-`; e.g. `edr.api_token`. */
export const SECRET_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** @throws VaultError explaining the naming rule when `name` breaks it. */
export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new VaultError(
      `invalid secret name ${JSON.stringify(name)} — use lower-case letters, digits, ".", "_" and "-" (e.g. edr.api_token)`,
    );
  }
}

/** What a backend says about a secret without revealing it. */
export interface SecretMetadata {
  name: string;
  /** ISO time of the last change, when the backend knows it. */
  updatedAt?: string;
}

/**
 * Where secrets live. Implementations: the encrypted file vault ({@link FileVault}) and the process
 * environment ({@link EnvSecretBackend}); a HashiCorp Vault or cloud secret manager fits the same shape.
 * Implementations must never log or put a value into an error message.
 */
export interface SecretBackend {
  /** Short name shown by `warden secrets ls`, e.g. `vault`, `env`. */
  readonly name: string;
  /** False for read-only backends (set/delete throw VaultError). */
  readonly writable: boolean;
  /** The value, or undefined when this backend does not hold the secret. */
  get(name: string): Promise<string | undefined>;
  /** Whether this backend holds `name`, without decrypting anything. */
  has(name: string): Promise<boolean>;
  /** Creates or replaces a secret. */
  set(name: string, value: string): Promise<void>;
  /** Removes a secret; resolves false when it was not there. */
  delete(name: string): Promise<boolean>;
  /** Names (and metadata) of the secrets held; never values. */
  list(): Promise<SecretMetadata[]>;
}

/** Prefix of environment variables the {@link EnvSecretBackend} reads. */
export const SECRET_ENV_PREFIX = 'WARDEN_SECRET_';

/** The environment variable holding secret `name`: `edr.api_token` → `WARDEN_SECRET_EDR_API_TOKEN`. */
export function secretEnvVar(name: string): string {
  return `${SECRET_ENV_PREFIX}${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Read-only backend over `WARDEN_SECRET_<NAME>` environment variables (upper-cased, every character
 * other than A–Z and 0–9 becomes `_`). Listed names are the lower-cased variable suffixes.
 */
export class EnvSecretBackend implements SecretBackend {
  readonly name = 'env';
  readonly writable = false;

  /** @param env the WARDEN_SECRET_* variables (see `secretEnvironment` in config.ts). */
  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  get(name: string): Promise<string | undefined> {
    const v = this.env[secretEnvVar(name)];
    return Promise.resolve(v === undefined || v === '' ? undefined : v);
  }

  async has(name: string): Promise<boolean> {
    return (await this.get(name)) !== undefined;
  }

  set(name: string): Promise<void> {
    return Promise.reject(this.readOnly(name));
  }

  delete(name: string): Promise<boolean> {
    return Promise.reject(this.readOnly(name));
  }

  list(): Promise<SecretMetadata[]> {
    return Promise.resolve(
      Object.entries(this.env)
        .filter(([k, v]) => k.startsWith(SECRET_ENV_PREFIX) && k.length > SECRET_ENV_PREFIX.length && v)
        .map(([k]) => ({ name: k.slice(SECRET_ENV_PREFIX.length).toLowerCase() }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    );
  }

  private readOnly(name: string): VaultError {
    return new VaultError(
      `secret "${name}" cannot be changed in the environment backend — set or unset ${secretEnvVar(name)} where the process is started`,
    );
  }
}

/** One row of {@link SecretStore.list}. */
export interface SecretListing extends SecretMetadata {
  backend: string;
  /** True when an earlier backend holds the same name, so this copy is never used. */
  shadowed: boolean;
}

/**
 * Secrets looked up across backends in order: the first backend holding a name wins. Warden's default
 * order is environment, then vault (the environment wins, as it does for settings).
 */
export class SecretStore {
  constructor(readonly backends: readonly SecretBackend[]) {}

  /** The value and the backend it came from, or undefined when no backend holds `name`. */
  async resolve(name: string): Promise<{ value: string; backend: string } | undefined> {
    for (const b of this.backends) {
      const value = await b.get(name);
      if (value !== undefined) return { value, backend: b.name };
    }
    return undefined;
  }

  /** The value of `name`, or undefined. */
  async get(name: string): Promise<string | undefined> {
    return (await this.resolve(name))?.value;
  }

  /**
   * Stores `value` in the first writable backend.
   * @returns that backend's name, and the name of an earlier backend that shadows it (so the caller can warn).
   * @throws VaultError when no backend is writable or the name is invalid.
   */
  async set(name: string, value: string): Promise<{ backend: string; shadowedBy?: string }> {
    assertSecretName(name);
    const target = this.backends.find((b) => b.writable);
    if (!target) throw new VaultError('no writable secret backend is configured');
    await target.set(name, value);
    const shadowedBy = await this.shadowingBackend(name, target);
    return { backend: target.name, ...(shadowedBy ? { shadowedBy } : {}) };
  }

  /**
   * Deletes `name` from every writable backend holding it.
   * @throws VaultError when only a read-only backend holds it (saying where), or nothing does.
   */
  async delete(name: string): Promise<string[]> {
    const removed: string[] = [];
    for (const b of this.backends) if (b.writable && (await b.delete(name))) removed.push(b.name);
    if (removed.length) return removed;
    const elsewhere = await this.resolve(name);
    if (elsewhere) {
      throw new VaultError(
        `secret "${name}" comes from the ${elsewhere.backend} backend, which is read-only` +
          (elsewhere.backend === 'env' ? ` — unset ${secretEnvVar(name)} instead` : ''),
      );
    }
    throw new VaultError(`no secret named "${name}" — see \`warden secrets ls\``);
  }

  /** Every secret name across backends (never values), marking copies hidden by an earlier backend. */
  async list(): Promise<SecretListing[]> {
    const out: SecretListing[] = [];
    for (const b of this.backends) {
      for (const m of await b.list()) {
        out.push({ ...m, backend: b.name, shadowed: Boolean(await this.shadowingBackend(m.name, b)) });
      }
    }
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return out.sort((x, y) => cmp(x.name, y.name) || cmp(x.backend, y.backend));
  }

  private async shadowingBackend(name: string, of: SecretBackend): Promise<string | undefined> {
    for (const b of this.backends) {
      if (b === of) return undefined;
      if (await b.has(name)) return b.name;
    }
    return undefined;
  }
}
