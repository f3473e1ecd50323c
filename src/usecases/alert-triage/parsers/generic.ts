import { UNGRADED_SEVERITY, severityFromScore, severityFromWord } from '../alert';
import { at, firstText, firstTime, isRecord, num, text, texts } from '../raw-fields';
import type { ParsedAlert } from './parser';
import { emptyParse, hostOf, uniqueHosts, uniqueUsers, untrusted, userOf } from './parser';

/*
 * The generic mapper reads a format Warden does not know by common field names. Nobody declared which of
 * its fields the vendor observed and which an attacker wrote, so every host, user and indicator it finds
 * is untrusted: such an alert can inform a human, never scope an automatic action.
 */

// Common field names across SIEM/EDR/cloud payloads, most specific first. Dotted entries are paths.
// prettier-ignore
const ID_KEYS = [
  'alert_id', 'alertId', 'AlertId', 'finding_id', 'findingId', 'detection_id', 'detectionId', 'incident_id',
  'incidentId', 'alarm_id', 'event_id', 'eventId', 'eventID', 'id', 'Id', 'uuid', 'messageID', 'notification_id',
];
// prettier-ignore
const TITLE_KEYS = [
  'title', 'Title', 'alert_name', 'alertName', 'rule_name', 'ruleName', 'rule.name', 'rule.description',
  'name', 'signature', 'alert.signature', 'summary', 'subject', 'eventName', 'type_string', 'data.title',
];
/** Keys that name what happened in a word or code: a title of last resort, with the outcome beside it. */
const WEAK_TITLE_KEYS = ['event_type', 'eventType', 'action', 'type', 'category'];
const DESCRIPTION_KEYS = ['description', 'Description', 'details', 'summary', 'message', 'alarm_text', 'full_log'];
// prettier-ignore
const SEVERITY_KEYS = [
  'severity', 'Severity', 'severity_name', 'severityName', 'Severity.Label', 'alarm_risk_level', 'risk_level',
  'riskLevel', 'state.risk_level', 'state.severity', 'metadata.severity', 'urgency', 'priority', 'level',
];
/** Numbers are trusted only under these keys: `level` and `priority` use unrelated (even inverted) scales. */
const NUMERIC_SEVERITY_KEYS = ['severity', 'Severity', 'severity_score', 'severityScore', 'risk_score', 'riskScore'];
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
  'content.computer_name', 'device.name', 'endpoint.name',
];
const DEVICE_ID_KEYS = [
  'device_id',
  'deviceId',
  'DeviceId',
  'host.id',
  'device.id',
  'agent_id',
  'agentId',
  'instance_id',
  'vm_id',
  'asset_vendor_id',
];
// prettier-ignore
const USER_KEYS = [
  'user_name', 'userName', 'username', 'userPrincipalName', 'user.name', 'user.email', 'user.login', 'user',
  'src_user', 'actor.email', 'actor.login', 'actor.name', 'actor.alternateId', 'actor', 'principal', 'email',
  'content.username',
];
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

const DEEP_USER_KEYS = new Set(['user_name', 'username', 'userName', 'user', 'account_name_user', 'login']);
const DEEP_HOST_KEYS = new Set([
  'hostname',
  'host_name',
  'hostName',
  'computer_name',
  'computerName',
  'device_name',
  'deviceName',
]);
const HOSTLIKE_RESOURCE = /\b(?:pod|instance|virtual.?machine|vm|host|container|server|workstation|endpoint)\b/i;

/**
 * Names deeper in the payload (breadth-first, bounded): `user_name` inside trigger events, a resource
 * object whose `type` says it is a machine. Used only when the top-level keys name nobody.
 */
function deepNames(raw: unknown): { users: Array<[string, string]>; hosts: Array<[string, string]> } {
  const users: Array<[string, string]> = [];
  const hosts: Array<[string, string]> = [];
  const queue: Array<[unknown, string, number]> = [[raw, '', 0]];
  for (let next = 0; next < queue.length && next < 2_000; next++) {
    const [value, path, depth] = queue[next]!;
    if (depth > 5 || typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      value.forEach((v, i) => queue.push([v, `${path}[${i}]`, depth + 1]));
      continue;
    }
    const record = value as Record<string, unknown>;
    if (depth > 0 && HOSTLIKE_RESOURCE.test(text(record.type) ?? '') && text(record.name))
      hosts.push([`${path}.name`, text(record.name)!]);
    for (const [key, child] of Object.entries(record).slice(0, 200)) {
      const childPath = path ? `${path}.${key}` : key;
      if (typeof child === 'string' && text(child)) {
        if (DEEP_USER_KEYS.has(key)) users.push([childPath, child]);
        if (DEEP_HOST_KEYS.has(key)) hosts.push([childPath, child]);
      } else queue.push([child, childPath, depth + 1]);
    }
  }
  return { users, hosts };
}

/** A one-line description short enough to serve as a title. */
function shortDescription(raw: unknown): string | undefined {
  const line = first(raw, DESCRIPTION_KEYS)?.split('\n')[0]?.trim();
  return line && line.length <= 160 ? line : line?.slice(0, 120);
}

/** `authentication (denied: anomalous_push)`: an event word with its result and reason when given. */
function weakTitle(raw: unknown): string | undefined {
  const what = first(raw, WEAK_TITLE_KEYS);
  if (what === undefined) return undefined;
  const outcome = [first(raw, ['result', 'outcome', 'status']), first(raw, ['reason'])].filter(Boolean).join(': ');
  return outcome ? `${what} (${outcome})` : what;
}

/**
 * Reads any JSON value as an alert, best effort; never throws. Fields come from common names (see the
 * key lists above); what is missing stays undefined for `normalizeAlert` to fill (digest id, receipt time,
 * "Alert from <source>" title). `vendorHint` names the vendor when the payload does not (the source name).
 */
export function parseGeneric(raw: unknown, vendorHint: string | undefined): ParsedAlert {
  if (!isRecord(raw)) {
    return {
      ...emptyParse(vendorHint ?? 'unknown'),
      severity: UNGRADED_SEVERITY,
      evidence: [{ field: '', value: raw, trusted: false }],
      untrusted: { description: typeof raw === 'string' ? raw : undefined },
    };
  }
  const word = SEVERITY_KEYS.map((k) => read(raw, k)).find((v) => severityFromWord(v) !== undefined);
  const score = NUMERIC_SEVERITY_KEYS.map((k) => read(raw, k)).find((v) => num(v) !== undefined);
  const severityValue = word ?? score;
  const n = num(score);
  const severity = severityFromWord(word) ?? (n === undefined ? UNGRADED_SEVERITY : severityFromScore(n, 'auto'));
  const hostKey = HOST_KEYS.find((k) => text(read(raw, k)) !== undefined);
  const deviceKey = DEVICE_ID_KEYS.find((k) => text(read(raw, k)) !== undefined);
  const topUsers = uniqueUsers(USER_KEYS.map((k) => userOf(untrusted(k), text(read(raw, k)))));
  const deep = deepNames(raw);
  return {
    vendor: first(raw, VENDOR_KEYS) ?? vendorHint ?? 'unknown',
    product: first(raw, PRODUCT_KEYS) ?? 'unknown',
    alertId: first(raw, ID_KEYS),
    title: first(raw, TITLE_KEYS) ?? shortDescription(raw) ?? weakTitle(raw),
    description: first(raw, DESCRIPTION_KEYS),
    untrusted: { description: first(raw, ['full_log', 'message', 'raw', '_raw', 'log']) },
    severity,
    vendorSeverity: typeof severityValue === 'number' ? severityValue : (text(severityValue) ?? null),
    createdAt: firstTime(...TIME_KEYS.map((k) => read(raw, k))),
    category: first(raw, ['category', 'Category', 'type']),
    tactics: texts(...TACTIC_KEYS.map((k) => read(raw, k))),
    techniques: [],
    hosts: uniqueHosts([
      hostKey || deviceKey
        ? hostOf(untrusted(hostKey ?? deviceKey!), hostKey ? read(raw, hostKey) : undefined, {
            deviceId: deviceKey ? read(raw, deviceKey) : undefined,
          })
        : undefined,
      ...HOST_KEYS.map((k) => hostOf(untrusted(k), text(read(raw, k)))),
      ...(hostKey || deviceKey ? [] : deep.hosts.map(([field, name]) => hostOf(untrusted(field), name))),
    ]),
    users:
      topUsers.length > 0 ? topUsers : uniqueUsers(deep.users.map(([field, name]) => userOf(untrusted(field), name))),
    evidence: [{ field: '', value: raw, trusted: false }],
    detectionHints: texts(read(raw, 'type'), read(raw, 'category'), read(raw, 'tags'), read(raw, 'action')),
  };
}
