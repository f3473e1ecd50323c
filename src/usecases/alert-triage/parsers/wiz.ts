import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import type { AlertHost, AlertUser } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, text, texts } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, trusted, uniqueHosts, uniqueUsers, userOf } from './parser';

/*
 * Wiz issues (API `issues` / webhook `issue` + `resource` + `control`) and Wiz Defend detections and
 * threats (`primaryResource`, `actors`, `triggeringEvents`). Trust: resources and actors are cloud
 * inventory and identities that Wiz resolved from the provider's APIs and logs: trusted. Descriptions and
 * the raw cloud events' request details are untrusted.
 */

const VM_TYPES = /VIRTUAL_MACHINE|EC2 Instance|Virtual Machine|Compute Instance|CONTAINER$|POD$/i;
const PRINCIPAL_TYPES = /USER_ACCOUNT|SERVICE_ACCOUNT|ACCESS_ROLE|IAM|PRINCIPAL|IDENTITY/i;

function resourceHost(field: string, r: unknown): AlertHost | undefined {
  if (!isRecord(r)) return undefined;
  if (!VM_TYPES.test(`${text(r.type) ?? ''} ${text(r.nativeType) ?? ''}`)) return undefined;
  const externalId = firstText(r.externalId, r.providerId, r.providerUniqueId);
  return hostOf(trusted(`${field}.name`), firstText(r.name, externalId), { deviceId: externalId });
}

function actorUser(field: string, a: unknown): AlertUser | undefined {
  if (!isRecord(a) || !PRINCIPAL_TYPES.test(text(a.type) ?? '')) return undefined;
  const kind = /SERVICE/i.test(text(a.type) ?? '')
    ? 'service_account'
    : /ROLE/i.test(text(a.type) ?? '')
      ? 'role'
      : 'user';
  return userOf(trusted(`${field}.name`), firstText(a.name, a.externalId), undefined, {
    kind,
    id: firstText(a.externalId, a.id),
  });
}

/** Wiz issues and Wiz Defend detections/threats. */
export const wizParser: AlertParser = {
  format: 'wiz',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) &&
    (text(raw.tdrId) !== undefined ||
      (text(raw.threatURL) ?? '').includes('wiz.io') ||
      (isRecord(raw.primaryResource) && (Array.isArray(raw.actors) || Array.isArray(raw.triggeringEvents))) ||
      (isRecord(raw.issue) && (isRecord(raw.control) || isRecord(raw.resource))) ||
      (isRecord(raw.sourceRule) && isRecord(raw.entitySnapshot))),
  parse(raw) {
    const issue = isRecord(raw.issue) ? raw.issue : raw;
    const control = isRecord(raw.control) ? raw.control : isRecord(raw.sourceRule) ? raw.sourceRule : {};
    const level = firstText(issue.severity, control.severity);
    const events = list(raw.triggeringEvents).filter(isRecord);
    const resources = list(raw.resources);
    return {
      vendor: 'Wiz',
      product: text(raw.tdrId) || isRecord(raw.primaryResource) ? 'Wiz Defend' : 'Wiz',
      alertId: firstText(issue.id, raw.threatId),
      title: firstText(raw.title, control.name, issue.type),
      description: firstText(raw.description, control.description),
      severity: severityFromWord(level) ?? UNGRADED_SEVERITY,
      vendorSeverity: level ?? null,
      createdAt: firstTime(issue.createdAt, issue.created, at(raw, 'timeframe', 'start')),
      category: firstText(raw.tdrSource, issue.type, raw.type),
      tactics: texts(raw.mitreTactics),
      techniques: texts(list(raw.mitreTechniques).map((t) => text(t)?.split('-').pop())),
      hosts: uniqueHosts([
        resourceHost('primaryResource', raw.primaryResource),
        ...resources.map((r, i) => resourceHost(`resources[${i}]`, r)),
        resourceHost('resource', raw.resource),
        resourceHost('entitySnapshot', raw.entitySnapshot),
      ]),
      users: uniqueUsers([
        actorUser('primaryActor', raw.primaryActor),
        ...list(raw.actors).map((a, i) => actorUser(`actors[${i}]`, a)),
      ]),
      evidence: [
        { field: 'primaryActor', value: raw.primaryActor, trusted: true },
        { field: 'actors', value: raw.actors, trusted: true },
        ...events.map((e, i) => ({ field: `triggeringEvents[${i}].actorIP`, value: e.actorIP, trusted: true })),
        ...events.map((e, i) => ({
          field: `triggeringEvents[${i}].description`,
          value: e.description,
          trusted: false,
        })),
        { field: 'description', value: raw.description, trusted: false },
      ],
      detectionHints: texts(raw.title, raw.tdrId, issue.type, control.name),
    };
  },
};
