/** A stored record row, in RECORD_COLUMNS order (see row-hash.js). */
export type RawRecordRow = unknown[];
/** RFC 8785 JSON of the record a row holds (its `data` column must be canonical text), or undefined. */
export function rowCanonical(row: RawRecordRow): string | undefined;
/** sha256 hex of {@link rowCanonical}, or undefined when a column has an impossible type. */
export function rowLeafHash(row: RawRecordRow): string | undefined;
/** For each row, 1 when its leaf_hash column equals the hash of its other columns, else 0. */
export function checkRows(rows: RawRecordRow[]): Uint8Array;
/** The record columns, in the order rows hold them. */
export const RECORD_COLUMNS: string;
