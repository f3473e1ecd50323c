import type { Severity } from '../alert';
import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import { at, firstText, firstTime, isRecord, num, text, texts } from '../raw-fields';
import type { ParsedAlert } from './parser';
import { hostOf, uniqueHosts, uniqueUsers, userOf } from './parser';

// Common field names across SIEM/EDR/cloud payloads, most specific first. Dotted entries are paths.
// prettier-ignore
const ID_KEYS = [
  'alert_id', 'alertId', 'AlertId', 'finding_id', 'findingId', 'detection_id', 'detectionId', 'incident_id',
  'incidentId', 'alarm_id', 'event_id', 'eventId', 'eventID', 'id', 'Id', 'uuid', 'messageID', 'notification_id',
];
// prettier-ignore
const TITLE_KEYS = [
  'title', 'Title', 'alert_name', 'alertName', 'rule_name', 'ruleName', 'rule.name', 'rule.description',
  'name', 'signature', 'alert.signature', 'summary', 'subject', 'eventName', 'event_type', 'eventType', 'action',
  'type', 'category',
];
const DESCRIPTION_KEYS = ['description', 'Description', 'details', 'summary', 'message', 'alarm_text', 'full_log'];
// prettier-ignore
const SEVERITY_KEYS = [
  'severity', 'Severity', 'severity_name', 'severityName', 'Severity.Label', 'alarm_risk_level', 'risk_level',
  'riskLevel', 'urgency', 'priority', 'level',
];
/** Numbers are trusted only under these keys: `level` and `priority` use unrelated (even inverted) scales. */
const NUMERIC_SEVERITY_KEYS = ['severity', 'Severity', 'severity_score', 'severityScore'];
// prettier-ignore
const TIME_KEYS = [
  'createdAt', 'created_at', 'createdDateTime', 'CreatedAt', 'created', 'timestamp', '@timestamp', 'time',
  'eventTime', 'event_time', 'messageTime', 'first_seen_time', 'firstSeen', 'date', '_time',
];
const VENDOR_KEYS = ['vendor', 'vendor_name', 'vendorName', 'source_vendors', 'vendorInformation.vendor'];
const PRODUCT_KEYS = ['product', 'product_name', 'productName', 'ProductName', 'source_products', 'alert_source'];
// prettier-ignore
const HOST_KEYS = [
  'hostname', 'host_name', 'hostName', 'computer_name', 'computerName', 'ComputerName', 'device_name',
  'deviceName', 'DeviceName', 'asset_hostname', 'host.name', 'host.hostname', 'device.hostname', 'agent.name',
];
const USER_KEYS = ['user_name', 'userName', 'username', 'userPrincipalName', 'user.name', 'user', 'src_user', 'actor'];
const TACTIC_KEYS = ['tactic', 'tactics', 'mitreTactics', 'mitre_tactic'];

function read(raw: unknown, key: string): unknown {
  return key.includes('.') && !(isRecord(raw) && key in raw) ? at(raw, ...key.split('.')) : at(raw, key);
}

function first(raw: unknown, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = read(raw, key);
    const t = Array.isArray(value) ? firstText(...(value as unknown[])) : text(value);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** A numeric severity of unknown scale: 0-10 (most vendors) or, above 10, 0-100. */
function severityFromNumber(n: number): Severity {
  const score = n > 10 ? n / 10 : n;
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score >= 1) return 'low';
  return 'informational';
}

/**
 * Reads any JSON value as an alert, best effort; never throws. Fields come from common names (see the
 * key lists above); what is missing stays undefined for `normalizeAlert` to fill (digest id, receipt time,
 * "Alert from <source>" title). `vendorHint` names the vendor when the payload does not (the source name).
 */
export function parseGeneric(raw: unknown, vendorHint: string | undefined): ParsedAlert {
  if (!isRecord(raw)) {
    return {
      vendor: vendorHint ?? 'unknown',
      product: 'unknown',
      alertId: undefined,
      title: typeof raw === 'string' ? text(raw.slice(0, 200)) : undefined,
      description: undefined,
      severity: UNGRADED_SEVERITY,
      vendorSeverity: null,
      createdAt: undefined,
      category: undefined,
      tactics: [],
      techniques: [],
      hosts: [],
      users: [],
      evidence: [raw],
    };
  }
  const word = SEVERITY_KEYS.map((k) => read(raw, k)).find((v) => severityFromWord(v) !== undefined);
  const score = NUMERIC_SEVERITY_KEYS.map((k) => read(raw, k)).find((v) => num(v) !== undefined);
  const severityValue = word ?? score;
  const n = num(score);
  const severity = severityFromWord(word) ?? (n === undefined ? UNGRADED_SEVERITY : severityFromNumber(n));
  return {
    vendor: first(raw, VENDOR_KEYS) ?? vendorHint ?? 'unknown',
    product: first(raw, PRODUCT_KEYS) ?? 'unknown',
    alertId: first(raw, ID_KEYS),
    title: first(raw, TITLE_KEYS) ?? first(raw, DESCRIPTION_KEYS)?.split('\n')[0]?.slice(0, 120),
    description: first(raw, DESCRIPTION_KEYS),
    severity,
    vendorSeverity: typeof severityValue === 'number' ? severityValue : (text(severityValue) ?? null),
    createdAt: firstTime(...TIME_KEYS.map((k) => read(raw, k))),
    category: first(raw, ['category', 'Category', 'type']),
    tactics: texts(...TACTIC_KEYS.map((k) => read(raw, k))),
    techniques: [],
    hosts: uniqueHosts(HOST_KEYS.map((k) => hostOf(text(read(raw, k))))),
    users: uniqueUsers(USER_KEYS.map((k) => userOf(text(read(raw, k))))),
    evidence: [raw],
  };
}
