import { z } from 'zod';

/**
 * A vendor write a tool call is about to send, announced before sending it: the action, the target's vendor
 * id, and the target's state as read just before. The tool activity keeps it in its heartbeat details, which
 * Temporal hands to the next attempt of the same call.
 */
export const WriteIntent = z.object({
  action: z.string().min(1).max(100),
  target: z.string().min(1).max(300),
  before: z.string().max(100),
});
/** A vendor write a tool call announced before sending it. */
export type WriteIntent = z.infer<typeof WriteIntent>;

/**
 * Whether a change a retry finds already made is this call's own: an earlier attempt announced this very write
 * (same action, same target) while the target was not yet in the requested state, and the target is in it now.
 *
 * Vendors such as Falcon and Okta take no idempotency key, so a retry after a crash (or a lost answer) cannot
 * ask the vendor whether the change was ours; without this it would report `changed: false` and the record
 * would say the run changed nothing. The residual ambiguity: if the earlier attempt died before its request
 * reached the vendor and someone else made the same change before the retry, it is counted as this run's.
 */
export function appliedByEarlierAttempt(
  prior: WriteIntent | undefined,
  write: { action: string; target: string },
  now: string,
  inRequestedState: (status: string) => boolean,
): boolean {
  return (
    prior !== undefined &&
    prior.action === write.action &&
    prior.target === write.target &&
    !inRequestedState(prior.before) &&
    inRequestedState(now)
  );
}

/**
 * The `changed` part of a tool's answer when the target is already in the requested state: `changed: true`
 * with `appliedByEarlierAttempt` when an earlier attempt of this call made the change, else `changed: false`.
 */
export function alreadyInState(
  prior: WriteIntent | undefined,
  write: { action: string; target: string },
  now: string,
  inRequestedState: (status: string) => boolean,
): { changed: boolean; appliedByEarlierAttempt?: true } {
  return appliedByEarlierAttempt(prior, write, now, inRequestedState)
    ? { changed: true, appliedByEarlierAttempt: true }
    : { changed: false };
}
