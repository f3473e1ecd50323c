import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, text, texts } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, trusted, uniqueHosts, uniqueUsers, userOf } from './parser';

/*
 * Okta System Log events (https://developer.okta.com/docs/reference/api/system-log/#logevent-object).
 * Trust: `actor` and `target` are principals Okta resolved in its own directory, `client.ipAddress` the
 * address Okta saw, `device` a device Okta knows (Okta Verify / device assurance): trusted. The user agent
 * and `debugContext.debugData` (request URIs, headers, behaviors) are request text: untrusted or skipped.
 * `severity` is the event's log level (DEBUG/INFO/WARN/ERROR), not a threat grade: WARN maps to medium and
 * ERROR to high, anything else stays ungraded.
 */

function oktaSeverity(level: string | undefined) {
  if (level === 'WARN') return 'medium' as const;
  if (level === 'ERROR') return 'high' as const;
  return severityFromWord(level) === 'critical' ? ('critical' as const) : UNGRADED_SEVERITY;
}

function principal(field: string, p: unknown) {
  if (!isRecord(p)) return undefined;
  const type = text(p.type)?.toLowerCase();
  if (type !== undefined && !['user', 'appuser', 'publicclientapp', 'serviceaccount'].includes(type)) return undefined;
  const kind = type === 'user' || type === 'appuser' ? ('user' as const) : ('service_principal' as const);
  return userOf(trusted(`${field}.alternateId`), firstText(p.alternateId, p.displayName), undefined, {
    kind,
    id: p.id,
  });
}

/** Okta System Log events. */
export const oktaParser: AlertParser = {
  format: 'okta',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) &&
    text(raw.eventType) !== undefined &&
    isRecord(raw.actor) &&
    (text(raw.uuid) !== undefined || text(raw.published) !== undefined) &&
    (isRecord(raw.outcome) || isRecord(raw.client) || text(raw.displayMessage) !== undefined),
  parse(raw) {
    const level = text(raw.severity)?.toUpperCase();
    const targets = list(raw.target).filter(isRecord);
    const device = isRecord(raw.device) ? raw.device : {};
    const result = text(at(raw, 'outcome', 'result'));
    const display = text(raw.displayMessage);
    return {
      vendor: 'Okta',
      product: 'System Log',
      alertId: firstText(raw.uuid),
      title: `${display ?? text(raw.eventType)!}${result && result !== 'SUCCESS' ? ` (${result})` : ''}`,
      description: firstText(at(raw, 'outcome', 'reason')),
      severity: oktaSeverity(level),
      vendorSeverity: level ?? null,
      createdAt: firstTime(raw.published),
      category: text(raw.eventType)?.split('.').slice(0, 2).join('.'),
      tactics: [],
      techniques: [],
      hosts: uniqueHosts([
        hostOf(trusted('device.name'), device.name, { os: device.os_platform, deviceId: device.id }),
      ]),
      users: uniqueUsers([principal('actor', raw.actor), ...targets.map((t, i) => principal(`target[${i}]`, t))]),
      evidence: [
        { field: 'client.ipAddress', value: at(raw, 'client', 'ipAddress'), trusted: true },
        { field: 'request.ipChain', value: at(raw, 'request', 'ipChain'), trusted: false },
        { field: 'securityContext.domain', value: at(raw, 'securityContext', 'domain'), trusted: false },
        { field: 'debugContext.debugData', value: at(raw, 'debugContext', 'debugData'), trusted: false },
      ],
      detectionHints: texts(
        raw.eventType,
        at(raw, 'debugContext', 'debugData', 'threatSuspected') === 'true' ? 'suspected threat' : undefined,
      ),
      skipKey: (key) => /^(?:dtHash|requestId|rootRequestId|threatDetections)$/.test(key),
    };
  },
};
