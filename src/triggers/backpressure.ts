import type { WardenClient } from '../client';
import { withTimeout } from '../runtime/readiness';

/** How long a request waits for Temporal before answering 503. @default 5000 */
export const DEFAULT_TEMPORAL_CALL_TIMEOUT_MS = 5_000;
/** Retry-After (seconds) sent with a 503 while Temporal cannot be reached. */
export const RETRY_AFTER_SECONDS = 5;

/** Temporal did not answer in time (or answered "unavailable"): the caller should retry later (503). */
export class TemporalUnavailable extends Error {
  override readonly name = 'TemporalUnavailable';
}

/** gRPC status codes that mean "the server is not there right now", not "your request is wrong". */
const UNAVAILABLE_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

/** True for errors that mean Temporal could not be reached (a 503 for the caller, not a 500). */
export function isTemporalUnavailable(err: unknown): boolean {
  if (err instanceof TemporalUnavailable) return true;
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as never, i++) {
    if (typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return true;
  }
  return false;
}

/**
 * Runs `fn` (calls to Temporal through `client`) with a deadline of `ms`: a request never hangs on an
 * unreachable cluster (the SDK would otherwise retry for a long time), it fails with TemporalUnavailable.
 * Works with clients that have no real connection (tests' fakes): then only the timeout applies.
 */
export async function boundedTemporalCall<T>(
  client: Pick<WardenClient, 'temporal'>,
  fn: () => Promise<T>,
  ms = DEFAULT_TEMPORAL_CALL_TIMEOUT_MS,
): Promise<T> {
  const connection = (client as Partial<Pick<WardenClient, 'temporal'>>).temporal?.connection;
  const call = connection?.withDeadline ? connection.withDeadline(Date.now() + ms, fn) : fn();
  try {
    return await withTimeout(call, ms + 250, 'Temporal');
  } catch (err) {
    if (isTemporalUnavailable(err) || /did not answer within/.test((err as Error).message))
      throw new TemporalUnavailable(`Temporal cannot be reached right now — retry in ${RETRY_AFTER_SECONDS} s`);
    throw err;
  }
}
