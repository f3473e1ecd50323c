import { UserError } from '../errors';

/**
 * A vault problem the operator can fix (no master key, a key that does not match, a damaged file, a
 * read-only backend). Messages name the secret and the key id, never a value or key material.
 */
export class VaultError extends UserError {}

/** Why a lease was refused or stopped working. */
export type LeaseRefusalCode =
  /** The step was not granted the capability (policy's decision; retrying cannot help). */
  | 'not_granted'
  /** The lease outlived its TTL. */
  | 'expired'
  /** The lease was revoked (its activity ended, or someone revoked it). */
  | 'revoked'
  /** No backend holds the secret the capability maps to (configuration). */
  | 'no_secret'
  /** The request itself is wrong (bad TTL, missing ids) — a bug in the caller. */
  | 'invalid_request';

/**
 * A refused lease request or a refused use of a lease. The message names the capability, the run and step,
 * and what would allow it — never the secret's value. `code` tells a caller how to fail: everything but
 * `no_secret` is final (retrying cannot help).
 */
export class LeaseError extends Error {
  override readonly name = 'LeaseError';
  constructor(
    readonly code: LeaseRefusalCode,
    message: string,
  ) {
    super(message);
  }
}
