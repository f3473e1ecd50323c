/**
 * The audit ledger: append-only, hash-chained records with chained, signed checkpoints, a witness
 * outside the database, an embedded (SQLite) and a fleet (PostgreSQL) store behind one interface,
 * verification, and SIEM exporters. Activities use {@link AuditLedger}; `warden audit` uses the rest.
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
export {
  AuditCheckpoint,
  CHECKPOINT_PAYLOAD_KIND,
  checkpointHash,
  checkpointPayload,
  keyIdOf,
  nextPrevCheckpoint,
  publicKeyRing,
  signCheckpoint,
} from './checkpoints';
export type { CheckpointSigner, SignerSpec, UnsignedCheckpoint } from './checkpoints';
export { commandSigner, createCheckpointSigner, parseSignature } from './signers';
export type { CommandSignerOptions } from './signers';
export {
  PUBLIC_KEY_FILE,
  SIGNING_KEY_FILE,
  localPublicKeys,
  openCheckpointSigner,
  readPublicKeyFiles,
} from './signing-key';
export type { SignerOptions } from './signing-key';
export { appendToWitness, readWitness, witnessFileName } from './witness';
export type { WitnessEntry } from './witness';
export { AuditKeyConflictError } from './store';
export type { AppendReceipt, AuditQuery, AuditStore, Backlog, LedgerSnapshot, StoreCheckpointConfig } from './store';
export { SqliteAuditStore } from './sqlite-store';
export type { SqliteAuditStoreOptions } from './sqlite-store';
export { AuditWriteError } from './sqlite-writer';
export { PostgresAuditStore, redactConnectionString } from './postgres-store';
export type { PostgresAuditStoreOptions } from './postgres-store';
export { openAuditStore } from './open';
export type { OpenAuditStoreOptions } from './open';
export { LedgerVerifier, verifyLedger } from './verify';
export type { Freshness, PublicKeys, VerifierOptions, VerifyResult } from './verify';
export { verifyStore } from './verify-store';
export type { VerifyStoreOptions } from './verify-store';
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
