import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { UnsealedRecord } from './record';

/** RFC 8785 (JCS) canonical JSON of a value: sorted keys, no whitespace, ECMAScript number form. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form (undefined, a function or a symbol)');
  return text;
}

/** Lowercase hex sha256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The leaf hash of a record: sha256 over the RFC 8785 canonical JSON of every field but `leafHash`
 * (so the record's `seq` and `prevHash` are covered, which is what chains it).
 *
 * Pass exactly the stored fields; an extra `leafHash` member is ignored.
 */
export function leafHashOf(record: UnsealedRecord): string {
  const { leafHash: _ignored, ...body } = record as UnsealedRecord & { leafHash?: string };
  return sha256Hex(canonicalJson(body));
}

/**
 * A digest for record data (`sha256:<hex>` over canonical JSON): use it for arguments, results, prompts
 * and documents, so the ledger proves what was seen without holding it.
 */
export function canonicalHash(value: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(value))}`;
}
