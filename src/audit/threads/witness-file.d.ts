import type { AuditCheckpoint } from '../checkpoints';

/** The witness file this host appends to inside a witness dir: one per host (see witness-file.js). */
export function witnessFileName(host?: string): string;
/** Appends checkpoints as JSON lines in one write, fsync'd before returning. @throws on I/O errors. */
export function appendToWitness(dir: string, checkpoints: readonly AuditCheckpoint[]): void;
