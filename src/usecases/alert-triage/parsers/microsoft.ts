import type { AlertHost, AlertUser } from '../alert';
import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, jsonList, list, text, texts, techniqueIds } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { hostOf, uniqueHosts, uniqueUsers, userOf } from './parser';

function severity(value: unknown): Pick<ParsedAlert, 'severity' | 'vendorSeverity'> {
  const word = severityFromWord(value);
  return { severity: word ?? UNGRADED_SEVERITY, vendorSeverity: text(value) ?? null };
}

/** Users and devices named anywhere in Graph / Defender evidence (userAccount, deviceDnsName, ...). */
function fromEvidence(evidence: unknown[]): {
  hosts: Array<AlertHost | undefined>;
  users: Array<AlertUser | undefined>;
} {
  const hosts: Array<AlertHost | undefined> = [];
  const users: Array<AlertUser | undefined> = [];
  for (const item of evidence.filter(isRecord)) {
    const account = isRecord(item.userAccount) ? item.userAccount : undefined;
    if (account)
      users.push(userOf(firstText(account.userPrincipalName, account.accountName), firstText(account.domainName)));
    // Defender for Endpoint API evidence is flat.
    if (text(item.entityType)?.toLowerCase() === 'user' || text(item.accountName))
      users.push(userOf(firstText(item.userPrincipalName, item.accountName), item.domainName));
    const ips = list(item.ipInterfaces).map(text).filter(Boolean);
    hosts.push(hostOf(firstText(item.deviceDnsName, item.hostName), ips[0], firstText(item.osPlatform)));
  }
  return { hosts, users };
}

/** Defender XDR Advanced Hunting rows (AlertInfo, AlertEvidence) as streamed to Event Hubs / a SIEM. */
function parseAdvancedHunting(raw: JsonRecord): ParsedAlert {
  const p = isRecord(raw.properties) ? raw.properties : {};
  const attack = jsonList(p.AttackTechniques);
  return {
    vendor: 'Microsoft',
    product: 'Defender XDR',
    alertId: firstText(p.AlertId),
    title: firstText(p.Title),
    description: firstText(p.Description, [p.ServiceSource, p.DetectionSource].filter(text).join(' / ')),
    ...severity(p.Severity),
    createdAt: firstTime(p.Timestamp, raw.time),
    category: firstText(p.Category),
    tactics: texts(p.Category),
    techniques: techniqueIds(...attack).length > 0 ? techniqueIds(...attack) : texts(attack),
    hosts: uniqueHosts([hostOf(p.DeviceName, p.LocalIP)]),
    users: uniqueUsers([userOf(firstText(p.AccountUpn, p.AccountName), p.AccountDomain)]),
    evidence: [p],
  };
}

/** Defender for Endpoint API alerts (`/api/alerts`). */
function parseEndpointAlert(raw: JsonRecord): ParsedAlert {
  const evidence = list(raw.evidence);
  const found = fromEvidence(evidence);
  const related = isRecord(raw.relatedUser) ? raw.relatedUser : {};
  return {
    vendor: 'Microsoft',
    product: 'Defender for Endpoint',
    alertId: firstText(raw.id, raw.alertId),
    title: firstText(raw.title),
    description: firstText(raw.description),
    ...severity(raw.severity),
    createdAt: firstTime(raw.alertCreationTime, raw.firstEventTime),
    category: firstText(raw.category),
    tactics: texts(raw.category),
    techniques: texts(raw.mitreTechniques),
    hosts: uniqueHosts([hostOf(raw.computerDnsName), ...found.hosts]),
    users: uniqueUsers([userOf(related.userName, related.domainName), ...found.users]),
    evidence: [raw.title, raw.description, evidence],
  };
}

/** Defender XDR: Advanced Hunting rows and Defender for Endpoint API alerts. */
export const defenderParser: AlertParser = {
  format: 'defender',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) &&
    ((text(raw.category)?.startsWith('AdvancedHunting-') === true && isRecord(raw.properties)) ||
      (text(raw.alertCreationTime) !== undefined && (text(raw.machineId) ?? text(raw.computerDnsName)) !== undefined)),
  parse: (raw) => (isRecord(raw.properties) ? parseAdvancedHunting(raw) : parseEndpointAlert(raw)),
};

/** The `@odata.type` of a Graph object; Panther renames the key to `at_sign_odata_type`. */
function odataType(value: unknown): string | undefined {
  return firstText(at(value, '@odata.type'), at(value, 'at_sign_odata_type'));
}

/** Microsoft Graph security alerts: `alert_v2` and the legacy `alert` (hostStates/userStates). */
export const graphParser: AlertParser = {
  format: 'graph',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) &&
    (odataType(raw)?.startsWith('#microsoft.graph.security.alert') === true ||
      odataType(raw) === '#microsoft.graph.alert' ||
      (text(raw.id) !== undefined &&
        text(raw.title) !== undefined &&
        text(raw.createdDateTime) !== undefined &&
        (text(raw.serviceSource) ?? text(raw.detectionSource) ?? text(raw.providerAlertId)) !== undefined) ||
      (isRecord(raw.vendorInformation) && text(raw.id) !== undefined)),
  parse(raw) {
    const evidence = list(raw.evidence);
    const found = fromEvidence(evidence);
    const legacyHosts = list(raw.hostStates)
      .filter(isRecord)
      .map((h) => hostOf(firstText(h.fqdn, h.netBiosName), firstText(h.privateIpAddress, h.publicIpAddress), h.os));
    const legacyUsers = list(raw.userStates)
      .filter(isRecord)
      .map((u) => userOf(firstText(u.userPrincipalName, u.accountName), u.domainName));
    const provider = firstText(raw.serviceSource, at(raw, 'vendorInformation', 'provider'), raw.detectionSource);
    return {
      vendor: 'Microsoft',
      product: provider ?? 'Graph security',
      alertId: firstText(raw.id),
      title: firstText(raw.title, raw.category),
      description: firstText(raw.description),
      ...severity(raw.severity),
      createdAt: firstTime(raw.createdDateTime, raw.eventDateTime, raw.firstActivityDateTime),
      category: firstText(raw.category),
      tactics: texts(raw.category),
      techniques: texts(raw.mitreTechniques),
      hosts: uniqueHosts([...found.hosts, ...legacyHosts]),
      users: uniqueUsers([...found.users, ...legacyUsers]),
      evidence: [
        raw.title,
        raw.description,
        evidence,
        raw.hostStates,
        raw.userStates,
        raw.networkConnections,
        raw.fileStates,
        raw.processes,
      ],
      // alertWebUrl / incidentWebUrl point at the Defender portal, not at the attacker.
      skipKey: (key) => /WebUrl$/.test(key),
    };
  },
};
