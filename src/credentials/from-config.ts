import type { WardenConfig } from '../config';
import { secretEnvironment } from '../config';
import type { CredentialBrokerOptions } from './broker';
import { CredentialBroker } from './broker';
import { MasterKeyStore } from './master-key';
import { EnvSecretBackend, SecretStore } from './store';
import { FileVault } from './vault';

/** The secret store Warden uses, with its parts (the CLI needs the vault and the key store directly). */
export interface ConfiguredSecrets {
  /** Environment first, then the file vault. */
  store: SecretStore;
  vault: FileVault;
  masterKey: MasterKeyStore;
}

/**
 * Builds the secret store from configuration: `WARDEN_SECRET_*` variables (read-only), then the file vault
 * under the master key.
 * @param secretEnv the WARDEN_SECRET_* variables. @default secretEnvironment() (process.env)
 */
export function createSecretStore(
  config: WardenConfig,
  secretEnv: Record<string, string> = secretEnvironment(),
): ConfiguredSecrets {
  const masterKey = new MasterKeyStore({
    ...(config.credentials.masterKey ? { envKeys: config.credentials.masterKey } : {}),
    file: config.credentials.masterKeyFile,
  });
  const vault = new FileVault({ file: config.credentials.vaultFile, keys: masterKey });
  return { store: new SecretStore([new EnvSecretBackend(secretEnv), vault]), vault, masterKey };
}

/**
 * Generates the master key file (0600) when no master key exists yet; `warden dev` calls it on start.
 * @returns whether a key was generated, and where.
 */
export function ensureMasterKey(config: WardenConfig): { created: boolean; file: string } {
  const { masterKey } = createSecretStore(config, {});
  return { created: masterKey.loadOrCreate().created, file: masterKey.file };
}

/**
 * A broker over the configured secrets, capped by WARDEN_LEASE_MAX_TTL_MS.
 * @param hooks where refusals (and, optionally, issued and revoked leases) are reported for the audit.
 */
export function createCredentialBroker(
  config: WardenConfig,
  secrets: CredentialBrokerOptions['secrets'],
  hooks: Pick<CredentialBrokerOptions, 'onRefusal' | 'onLease' | 'secretName'>,
): CredentialBroker {
  return new CredentialBroker({ secrets, maxTtlMs: config.credentials.leaseMaxTtlMs, ...hooks });
}
