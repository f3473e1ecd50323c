/**
 * The audit ledger: append-only, hash-chained records with signed checkpoints, an embedded (SQLite)
 * and a fleet (PostgreSQL) store behind one interface, verification, and SIEM exporters.
 * Activities use {@link AuditLedger}; `warden audit` uses the rest.
 */
export {
  AppendInput,
  AuditActor,
  AuditData,
  AuditRecord,
  AuditRecordType,
  GENESIS_HASH,
  KNOWN_AUDIT_TYPES,
  MAX_DATA_BYTES,
  parseAppendInput,
} from './record';
export type { KnownAuditType, UnsealedRecord } from './record';
export { canonicalHash, canonicalJson, leafHashOf, sha256Hex } from './hash';
export { AuditCheckpoint, checkpointPayload, createCheckpointSigner, keyIdOf, publicKeyRing } from './checkpoints';
export type { CheckpointSigner } from './checkpoints';
export {
  PUBLIC_KEY_FILE,
  SIGNING_KEY_FILE,
  localPublicKeys,
  loadOrCreateSigningKey,
  readPublicKeyFiles,
} from './signing-key';
export type { SigningKeyOptions } from './signing-key';
export { AuditKeyConflictError } from './store';
export type { AuditQuery, AuditStore } from './store';
export { SqliteAuditStore } from './sqlite-store';
export type { SqliteAuditStoreOptions } from './sqlite-store';
export { PostgresAuditStore, redactConnectionString } from './postgres-store';
export type { PostgresAuditStoreOptions } from './postgres-store';
export { openAuditStore } from './open';
export type { OpenAuditStoreOptions } from './open';
export { LedgerVerifier, verifyLedger, verifyStore } from './verify';
export type { PublicKeys, VerifyResult } from './verify';
export { AuditLedger } from './ledger';
export type { AuditLedgerLogger, AuditLedgerOptions } from './ledger';
export { recordOutcome, summarizeRecord } from './summary';
export type { AuditOutcome } from './summary';
export { OCSF_SCHEMA_VERSION, OcsfActivity, toOcsf } from './siem/ocsf';
export type { OcsfApiActivity } from './siem/ocsf';
export { ECS_VERSION, toEcs } from './siem/ecs';
export type { EcsEvent } from './siem/ecs';
export { writeNdjson } from './siem/ndjson';
export { HecError, hecEndpoint, postToHec } from './siem/hec';
export type { HecEvent, HecOptions, HecResult } from './siem/hec';
