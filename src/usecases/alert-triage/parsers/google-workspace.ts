import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, text, texts } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { hostOf, trusted, uniqueHosts, uniqueUsers, untrusted, userOf } from './parser';

/*
 * Google Workspace: Alert Center alerts (https://developers.google.com/admin-sdk/alertcenter/reference/rest/v1beta1/alerts)
 * and Admin SDK Reports activities (https://developers.google.com/admin-sdk/reports/reference/rest/v1/activities),
 * with `events[]` as the API returns them or one event flattened into the record (name/type/parameters).
 * Trust: the accounts Google authenticated or names as affected (`data.email`, `actor.email`, a target
 * user parameter), devices from its device inventory, login addresses and attachment hashes it recorded:
 * trusted. Sender headers, display names and subjects of messages: untrusted.
 */

/** Reports API parameters as a name → value map (`[{name, value|intValue|boolValue|multiValue}]` or an object). */
function parameterMap(parameters: unknown): JsonRecord {
  if (isRecord(parameters)) return parameters;
  const out: JsonRecord = {};
  for (const p of list(parameters).filter(isRecord)) {
    const name = text(p.name);
    if (name !== undefined) out[name] = p.value ?? p.multiValue ?? p.intValue ?? p.boolValue ?? p.multiIntValue;
  }
  return out;
}

const TARGET_USER_PARAMS = ['USER_EMAIL', 'user_email', 'affected_email_address', 'target_user', 'TARGET_USER'];

function parseActivity(raw: JsonRecord): ParsedAlert {
  const event = list(raw.events).find(isRecord) ?? raw;
  const e = event === raw ? '' : 'events[0].';
  const params = parameterMap(event.parameters);
  const app = firstText(at(raw, 'id', 'applicationName'));
  const name = firstText(event.name);
  const targetKey = TARGET_USER_PARAMS.find((k) => text(params[k]) !== undefined);
  return {
    vendor: 'Google',
    product: `Workspace${app ? ` (${app})` : ''}`,
    alertId: firstText(at(raw, 'id', 'uniqueQualifier')),
    title: [app, name ?? firstText(event.type)].filter(Boolean).join(': ') || undefined,
    description: undefined,
    severity: UNGRADED_SEVERITY,
    vendorSeverity: null,
    createdAt: firstTime(at(raw, 'id', 'time')),
    category: firstText(event.type),
    tactics: [],
    techniques: [],
    hosts: uniqueHosts([
      hostOf(trusted(`${e}parameters.device_id`), firstText(params.device_model, params.device_id), {
        deviceId: params.device_id,
      }),
    ]),
    users: uniqueUsers([
      userOf(trusted('actor.email'), at(raw, 'actor', 'email'), undefined, {
        kind: text(at(raw, 'actor', 'callerType')) === 'KEY' ? 'service_account' : 'user',
        id: at(raw, 'actor', 'profileId'),
      }),
      targetKey
        ? userOf(trusted(`${e}parameters.${targetKey}`), params[targetKey], undefined, { kind: 'user' })
        : undefined,
    ]),
    evidence: [
      { field: 'ipAddress', value: raw.ipAddress, trusted: true },
      { field: `${e}parameters`, value: params, trusted: false },
    ],
    detectionHints: texts(name, event.type),
  };
}

function parseAlertCenter(raw: JsonRecord): ParsedAlert {
  const data = isRecord(raw.data) ? raw.data : {};
  const level = firstText(at(raw, 'metadata', 'severity'), raw.severity);
  const messages = list(data.messages).filter(isRecord);
  const devices = list(data.events).filter(isRecord);
  return {
    vendor: 'Google',
    product: `Workspace Alert Center${text(raw.source) ? ` (${text(raw.source)})` : ''}`,
    alertId: firstText(raw.alertId),
    title: firstText(raw.type, data['@type']),
    description: undefined,
    severity: severityFromWord(level) ?? UNGRADED_SEVERITY,
    vendorSeverity: level ?? null,
    createdAt: firstTime(raw.startTime, raw.createTime),
    category: firstText(raw.source),
    tactics: [],
    techniques: [],
    hosts: uniqueHosts(
      devices.map((d, i) =>
        hostOf(trusted(`data.events[${i}].deviceId`), firstText(d.deviceModel, d.serialNumber, d.deviceId), {
          deviceId: firstText(d.deviceId, d.resourceId),
        }),
      ),
    ),
    users: uniqueUsers([
      userOf(trusted('data.email'), data.email, undefined, { kind: 'user' }),
      ...list(data.affectedUserEmails).map((u, i) =>
        userOf(trusted(`data.affectedUserEmails[${i}]`), u, undefined, { kind: 'user' }),
      ),
      ...messages.map((m, i) =>
        userOf(trusted(`data.messages[${i}].recipient`), m.recipient, undefined, { kind: 'user' }),
      ),
      userOf(untrusted('data.maliciousEntity.fromHeader'), at(data, 'maliciousEntity', 'entity', 'emailAddress')),
    ]),
    evidence: [
      { field: 'data.loginDetails', value: data.loginDetails, trusted: true },
      {
        field: 'data.messages',
        value: messages.map((m) => ({
          attachmentsSha256Hash: m.attachmentsSha256Hash,
          md5HashMessageBody: m.md5HashMessageBody,
        })),
        trusted: true,
      },
      { field: 'data.maliciousEntity', value: data.maliciousEntity, trusted: false },
      { field: 'data.domain', value: data.domain, trusted: false },
    ],
    untrusted: { subject: firstText(messages[0]?.subjectText) },
    detectionHints: texts(raw.type, data['@type']),
  };
}

function isActivity(raw: JsonRecord): boolean {
  return (
    (text(raw.kind) === 'admin#reports#activity' || text(at(raw, 'id', 'applicationName')) !== undefined) &&
    isRecord(raw.actor)
  );
}

function isAlertCenter(raw: JsonRecord): boolean {
  return (
    text(raw.alertId) !== undefined &&
    text(raw.customerId) !== undefined &&
    text(raw.type) !== undefined &&
    (isRecord(raw.data) || isRecord(raw.metadata))
  );
}

/** Google Workspace Alert Center alerts and Reports API activities. */
export const googleWorkspaceParser: AlertParser = {
  format: 'gsuite',
  matches: (raw): raw is JsonRecord => isRecord(raw) && (isActivity(raw) || isAlertCenter(raw)),
  parse: (raw) => (isAlertCenter(raw) ? parseAlertCenter(raw) : parseActivity(raw)),
};
