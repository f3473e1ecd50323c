/*
 * Credentials: the encrypted vault and secret backends, and the broker that hands out time-bound leases
 * on secrets to activities. See README "Credentials and encryption".
 */
export type { Lease, LeaseActor, LeaseInfo, LeaseRefusal, LeaseRequest, CredentialBrokerOptions } from './broker';
export { CredentialBroker, scrub } from './broker';
export { defaultSecretName, formatCapability, isGranted } from './capabilities';
export type { LeaseRefusalCode } from './errors';
export { LeaseError, VaultError } from './errors';
export type { ConfiguredSecrets } from './from-config';
export { createCredentialBroker, createSecretStore, ensureMasterKey } from './from-config';
export type { KeyEntry, KeyRing } from './keys';
export { MasterKeyStore } from './master-key';
export { REDACTED, scrubValues } from './scrub';
export type { SecretBackend, SecretListing, SecretMetadata } from './store';
export { EnvSecretBackend, SecretStore, secretEnvVar } from './store';
export type { FileVaultOptions, RotationResult } from './vault';
export { FileVault } from './vault';
