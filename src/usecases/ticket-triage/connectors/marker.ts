import { createHash } from 'node:crypto';

/*
 * Ticket systems take no idempotency key on comments, so Warden writes its own: a short reference derived
 * from the call's idempotency key (workflowId/stepId/callId, stable across activity retries), appended to
 * every note it writes. Before writing, a connector looks for the reference in the ticket's journal: a
 * retried write whose first attempt landed (and whose answer was lost) becomes a no-op.
 */

/** The reference for one tool call: `warden-ref:<16 hex>`. */
export function wardenRef(idempotencyKey: string): string {
  return `warden-ref:${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16)}`;
}

/** A note body with its reference appended on its own line. */
export function withRef(body: string, ref: string): string {
  return `${body.trimEnd()}\n\n[${ref}]`;
}
