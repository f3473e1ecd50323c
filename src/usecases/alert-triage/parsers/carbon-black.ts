import { UNGRADED_SEVERITY, severityFromScore } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { firstText, firstTime, isRecord, list, num, text, texts } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { hostOf, trusted, uniqueHosts, uniqueUsers, userOf } from './parser';

/*
 * VMware Carbon Black Cloud: alerts (Alerts API v7 and the v6 `threat_cause_*` shape, also as the Data
 * Forwarder writes them; https://developer.carbonblack.com/reference/carbon-black-cloud/platform/latest/alerts-api/)
 * and audit log records (`loginName`, `clientIp`, `description`).
 * Trust: the sensor's device record (name, id, addresses, logged-in user), the process users and hashes
 * it observed, and network peers it saw are trusted; command lines and the `reason` sentence (which embeds
 * process and file names) are untrusted.
 */

function parseAlert(raw: JsonRecord): ParsedAlert {
  const severity = num(raw.severity);
  const type = firstText(raw.type, raw.category);
  const watchlist = list(raw.watchlists).filter(isRecord)[0];
  return {
    vendor: 'VMware Carbon Black',
    product: 'Carbon Black Cloud',
    alertId: firstText(raw.id, raw.legacy_alert_id),
    title:
      firstText(raw.report_name, watchlist?.name) ??
      `Carbon Black ${type ?? 'alert'}${text(raw.attack_tactic) ? `: ${text(raw.attack_tactic)}` : ''}`,
    description: firstText(raw.threat_cause_threat_category, raw.reason_code),
    severity: severity === undefined ? UNGRADED_SEVERITY : severityFromScore(severity, 10),
    vendorSeverity: severity ?? null,
    createdAt: firstTime(raw.detection_timestamp, raw.backend_timestamp, raw.create_time, raw.first_event_time),
    category: type,
    tactics: texts(raw.attack_tactic),
    techniques: texts(raw.attack_technique),
    hosts: uniqueHosts([
      hostOf(trusted('device_name'), raw.device_name, {
        ip: firstText(raw.device_internal_ip, raw.device_external_ip),
        os: firstText(raw.device_os_version, raw.device_os),
        deviceId: raw.device_id,
      }),
    ]),
    users: uniqueUsers([
      userOf(trusted('device_username'), raw.device_username, undefined, { kind: 'user' }),
      userOf(trusted('process_username'), list(raw.process_username)[0], undefined, { kind: 'user' }),
    ]),
    evidence: [{ field: '', value: raw, trusted: true }],
    untrusted: {
      description: firstText(raw.reason),
      commandLine: firstText(raw.process_cmdline, raw.childproc_cmdline),
    },
    detectionHints: texts(type, raw.reason_code, raw.threat_cause_threat_category, raw.ttps, raw.attack_tactic),
    skipKey: (key) => /^(?:org_key|threat_id|report_id|primary_event_id|.*_guid)$/.test(key),
  };
}

function parseAudit(raw: JsonRecord): ParsedAlert {
  return {
    vendor: 'VMware Carbon Black',
    product: 'Carbon Black Cloud audit log',
    alertId: firstText(raw.eventId),
    title: firstText(raw.description) ?? 'Carbon Black audit event',
    description: undefined,
    severity: raw.flagged === true ? 'medium' : UNGRADED_SEVERITY,
    vendorSeverity: raw.flagged === true ? 'flagged' : null,
    createdAt: firstTime(raw.eventTime),
    category: 'audit',
    tactics: [],
    techniques: [],
    hosts: [],
    users: uniqueUsers([userOf(trusted('loginName'), raw.loginName, undefined, { kind: 'user' })]),
    evidence: [{ field: 'clientIp', value: raw.clientIp, trusted: true }],
    detectionHints: ['audit', ...texts(raw.description)],
  };
}

function isAlert(raw: JsonRecord): boolean {
  return (
    text(raw.org_key) !== undefined &&
    text(raw.id) !== undefined &&
    (text(raw.device_id) !== undefined || text(raw.device_name) !== undefined) &&
    (num(raw.severity) !== undefined || text(raw.reason) !== undefined)
  );
}

function isAudit(raw: JsonRecord): boolean {
  return text(raw.loginName) !== undefined && text(raw.eventId) !== undefined && text(raw.orgName) !== undefined;
}

/** Carbon Black Cloud alerts and audit log records. */
export const carbonBlackParser: AlertParser = {
  format: 'carbonblack',
  matches: (raw): raw is JsonRecord => isRecord(raw) && (isAlert(raw) || isAudit(raw)),
  parse: (raw) => (isAlert(raw) ? parseAlert(raw) : parseAudit(raw)),
};
