import { canonicalHash } from '../audit/hash';
import type { FleetKey } from './fleet-key';
import type { Signer } from './keyring';
import type { StartAttestation } from './signed-request';

/*
 * Who started a run, provably: the fields a start attestation covers, and how a client makes one.
 * Verified by the run's `identifyRun` local activity (src/activities/identity.ts).
 */

/** What a start attestation is about: the run and everything that decides what it does. */
export interface StartSubject {
  workflowId: string;
  initiator: string;
  playbook: unknown;
  input: unknown;
  trigger?: unknown;
}

/** The fields a start signature or MAC covers. */
export function startFields(s: StartSubject, extra: string[] = []): string[] {
  return [
    s.workflowId,
    s.initiator,
    canonicalHash({ playbook: s.playbook, input: s.input ?? {}, trigger: s.trigger ?? null }),
    ...extra,
  ];
}

/** An attestation signed by the initiator's own key. */
export function signStart(signer: Signer, s: StartSubject): StartAttestation {
  return { kind: 'principal', signature: signer.sign('start', startFields(s)) };
}

/** An attestation by a Warden service (it authenticated the initiator itself), under the fleet key. */
export function attestStart(key: FleetKey, service: string, s: StartSubject, now = new Date()): StartAttestation {
  const issuedAt = now.toISOString();
  return { kind: 'service', service, issuedAt, mac: key.mac('start', startFields(s, [service, issuedAt])) };
}
