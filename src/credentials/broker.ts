import { randomUUID } from 'node:crypto';
import type { Capability } from '../tools/types';
import type { LeaseRefusalCode } from './errors';
import { LeaseError } from './errors';
import { defaultSecretName, formatCapability, isGranted } from './capabilities';
import { scrubValues } from './scrub';

/** Who uses a lease: an agent under its own identity, or Warden itself for a deterministic step. */
export interface LeaseActor {
  kind: 'agent' | 'system';
  id: string;
}

/** A request for a credential lease, made by an activity for one tool call. */
export interface LeaseRequest {
  workflowId: string;
  stepId: string;
  callId: string;
  /** What the tool needs. */
  capability: Capability;
  /** The lease's lifetime; at most the calling activity's remaining timeout (the broker also caps it). */
  ttlMs: number;
  actor: LeaseActor;
  /** The human (or trigger) the run acts for, e.g. the run's initiator. */
  onBehalfOf: string;
  /** What policy granted this step; a capability outside it is refused. */
  granted: readonly Capability[];
}

/** A lease as records and logs may show it: references only, never the secret. */
export interface LeaseInfo {
  id: string;
  capability: Capability;
  secretName: string;
  workflowId: string;
  stepId: string;
  callId: string;
  actor: LeaseActor;
  onBehalfOf: string;
  issuedAt: string;
  expiresAt: string;
}

/** A time-bound right to read one secret for one tool call. */
export interface Lease extends Readonly<Omit<LeaseInfo, 'issuedAt' | 'expiresAt'>> {
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  /** `active` until the TTL passes or {@link revoke} is called. */
  readonly state: 'active' | 'expired' | 'revoked';
  /**
   * The secret. Call it at the point of use; never store, log or return the value.
   * @throws LeaseError `expired` after the TTL, `revoked` after revoke() (each reported through onRefusal).
   */
  reveal(): string;
  /** Ends the lease now; later reveal() calls are refused. Idempotent. */
  revoke(reason?: string): void;
  /** The JSON form ({@link LeaseInfo}): no secret. */
  toJSON(): LeaseInfo;
}

/** A refused request or use, as reported to {@link CredentialBrokerOptions.onRefusal} (for the audit). */
export interface LeaseRefusal {
  code: LeaseRefusalCode;
  message: string;
  workflowId: string;
  stepId: string;
  callId: string;
  capability: Capability;
  actor: LeaseActor;
  onBehalfOf: string;
  leaseId?: string;
  at: string;
}

/** Options for {@link CredentialBroker}. */
export interface CredentialBrokerOptions {
  /** Where secret values come from (a SecretStore). */
  secrets: { get(name: string): Promise<string | undefined> };
  /**
   * Called synchronously for every refusal (ungranted, expired, revoked, missing secret, bad request) so it
   * can be audited. Must not throw; an exception is swallowed and the refusal still stands.
   */
  onRefusal: (refusal: LeaseRefusal) => void;
  /** Called when a lease is issued and when one is revoked (for the audit). Must not throw. */
  onLease?: (event: { kind: 'issued' | 'revoked'; lease: LeaseInfo; reason?: string }) => void;
  /** Upper bound on any lease (WARDEN_LEASE_MAX_TTL_MS). @default 900000 (15 minutes) */
  maxTtlMs?: number;
  /** Maps a capability to its secret's name. @default {@link defaultSecretName} */
  secretName?: (capability: Capability) => string;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

// Values live here, not on the lease object, so no serialiser or inspector can reach them.
const values = new WeakMap<object, string>();

/**
 * Issues time-bound leases on secrets for (run, step, call, capability), after checking the capability
 * against what policy granted the step. Leases live in this process's memory only; revoke them when the
 * activity ends ({@link withLease} does it for you).
 */
export class CredentialBroker {
  private readonly live = new Map<string, Lease>();
  private readonly now: () => number;
  private readonly maxTtlMs: number;

  constructor(private readonly opts: CredentialBrokerOptions) {
    this.now = opts.now ?? Date.now;
    this.maxTtlMs = opts.maxTtlMs ?? 15 * 60_000;
  }

  /**
   * Issues a lease. Its TTL is min(request.ttlMs, maxTtlMs).
   * @throws LeaseError `not_granted`, `no_secret` or `invalid_request` (each reported through onRefusal);
   *   a VaultError from the secret store passes through.
   */
  async lease(req: LeaseRequest): Promise<Lease> {
    this.sweep();
    const what = formatCapability(req.capability);
    const where = `step "${req.stepId}" of run ${req.workflowId}`;
    if (!req.workflowId || !req.stepId || !req.callId || !Number.isFinite(req.ttlMs) || req.ttlMs <= 0) {
      throw this.refuse(
        req,
        'invalid_request',
        `lease request for ${what} needs run, step and call ids and a positive ttlMs`,
      );
    }
    if (!isGranted(req.capability, req.granted)) {
      const granted = req.granted.map(formatCapability).join(', ') || 'nothing';
      throw this.refuse(
        req,
        'not_granted',
        `capability ${what} is not granted to ${where} (granted: ${granted}) — policy must grant ${what} to this step for its tools to use it`,
      );
    }
    const secretName = (this.opts.secretName ?? defaultSecretName)(req.capability);
    const value = await this.opts.secrets.get(secretName);
    if (value === undefined) {
      throw this.refuse(
        req,
        'no_secret',
        `capability ${what} maps to secret "${secretName}", which no backend holds — run \`warden secrets set ${secretName}\``,
      );
    }
    const issuedAt = this.now();
    const info: LeaseInfo = {
      id: `lease-${randomUUID()}`,
      capability: { provider: req.capability.provider, scopes: [...req.capability.scopes] },
      secretName,
      workflowId: req.workflowId,
      stepId: req.stepId,
      callId: req.callId,
      actor: { ...req.actor },
      onBehalfOf: req.onBehalfOf,
      issuedAt: new Date(issuedAt).toISOString(),
      expiresAt: new Date(issuedAt + Math.min(req.ttlMs, this.maxTtlMs)).toISOString(),
    };
    const lease = this.makeLease(req, info);
    values.set(lease, value);
    this.live.set(info.id, lease);
    this.notify({ kind: 'issued', lease: info });
    return lease;
  }

  /** Leases, runs `fn` with the lease, and revokes it however `fn` ends (success, failure, cancellation). */
  async withLease<T>(req: LeaseRequest, fn: (lease: Lease) => Promise<T>): Promise<T> {
    const lease = await this.lease(req);
    try {
      return await fn(lease);
    } finally {
      lease.revoke('activity ended');
    }
  }

  /** Revokes every live lease matching the filter (all when empty). @returns how many were revoked. */
  revokeAll(filter: Partial<Pick<LeaseInfo, 'workflowId' | 'stepId' | 'callId'>> = {}, reason = 'revoked'): number {
    let n = 0;
    for (const lease of [...this.live.values()]) {
      if (Object.entries(filter).every(([k, v]) => lease[k as keyof typeof filter] === v)) {
        lease.revoke(reason);
        n++;
      }
    }
    return n;
  }

  /** Live (not yet revoked or expired) leases, as references. */
  active(): LeaseInfo[] {
    this.sweep();
    return [...this.live.values()].map((l) => l.toJSON());
  }

  private makeLease(req: LeaseRequest, info: LeaseInfo): Lease {
    let revokedAt: number | undefined;
    const expiresAt = Date.parse(info.expiresAt);
    const state = (): Lease['state'] =>
      revokedAt !== undefined ? 'revoked' : this.now() >= expiresAt ? 'expired' : 'active';
    const desc = `lease ${info.id} for ${formatCapability(info.capability)} (run ${info.workflowId}, step ${info.stepId}, call ${info.callId})`;
    const lease: Lease = {
      ...info,
      issuedAt: new Date(info.issuedAt),
      expiresAt: new Date(expiresAt),
      get state() {
        return state();
      },
      reveal: () => {
        const s = state();
        if (s === 'revoked') {
          throw this.refuse(
            req,
            'revoked',
            `${desc} was revoked — a secret is readable only while the activity that leased it runs`,
            info.id,
          );
        }
        if (s === 'expired') {
          this.live.delete(info.id);
          throw this.refuse(
            req,
            'expired',
            `${desc} expired at ${info.expiresAt} — leases last no longer than their activity; a retry obtains a new one`,
            info.id,
          );
        }
        return values.get(lease) ?? '';
      },
      revoke: (reason?: string) => {
        if (revokedAt !== undefined) return;
        revokedAt = this.now();
        this.live.delete(info.id);
        this.notify({ kind: 'revoked', lease: info, ...(reason ? { reason } : {}) });
      },
      toJSON: () => ({ ...info, capability: { ...info.capability }, actor: { ...info.actor } }),
    };
    return Object.freeze(lease);
  }

  private refuse(req: LeaseRequest, code: LeaseRefusalCode, message: string, leaseId?: string): LeaseError {
    try {
      this.opts.onRefusal({
        code,
        message,
        workflowId: req.workflowId,
        stepId: req.stepId,
        callId: req.callId,
        capability: req.capability,
        actor: req.actor,
        onBehalfOf: req.onBehalfOf,
        ...(leaseId ? { leaseId } : {}),
        at: new Date(this.now()).toISOString(),
      });
    } catch {
      // A broken audit sink must not turn a refusal into anything else.
    }
    return new LeaseError(code, message);
  }

  private notify(event: Parameters<NonNullable<CredentialBrokerOptions['onLease']>>[0]): void {
    try {
      this.opts.onLease?.(event);
    } catch {
      // see refuse()
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, l] of this.live) if (l.expiresAt.getTime() <= now) this.live.delete(id);
  }
}

/**
 * Replaces every value revealed through `leases` (and its base64, URL-encoded and JSON-escaped forms) in
 * `text` with `[redacted]`. Works on revoked and expired leases too, so an error message can be scrubbed
 * after the activity's lease has ended. Plain strings are scrubbed as given.
 */
export function scrub(text: string, leases: Iterable<Lease | string>): string {
  const secrets: string[] = [];
  for (const l of leases) {
    const v = typeof l === 'string' ? l : values.get(l);
    if (v) secrets.push(v);
  }
  return scrubValues(text, secrets);
}
