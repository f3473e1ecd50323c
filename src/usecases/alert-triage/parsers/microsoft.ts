import type { AlertHost, AlertUser } from '../alert';
import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, jsonList, list, text, texts, techniqueIds } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { hostOf, trusted, uniqueHosts, uniqueUsers, userOf } from './parser';

/*
 * Trust: Defender and Graph evidence entities (devices with their MDE/Entra ids, user accounts, files with
 * the hashes Defender computed, addresses and URLs it observed) are Microsoft's own records: trusted.
 * Command lines, e-mail subjects and other free text inside them are untrusted by key (see indicators.ts).
 */

function severity(value: unknown): Pick<ParsedAlert, 'severity' | 'vendorSeverity'> {
  const word = severityFromWord(value);
  return { severity: word ?? UNGRADED_SEVERITY, vendorSeverity: text(value) ?? null };
}

/** Users and devices named anywhere in Graph / Defender evidence (userAccount, deviceDnsName, ...). */
function fromEvidence(
  evidence: unknown[],
  base: string,
): {
  hosts: Array<AlertHost | undefined>;
  users: Array<AlertUser | undefined>;
} {
  const hosts: Array<AlertHost | undefined> = [];
  const users: Array<AlertUser | undefined> = [];
  evidence.forEach((item, i) => {
    if (!isRecord(item)) return;
    const field = `${base}[${i}]`;
    const account = isRecord(item.userAccount) ? item.userAccount : undefined;
    if (account)
      users.push(
        userOf(
          trusted(`${field}.userAccount`),
          firstText(account.userPrincipalName, account.accountName),
          firstText(account.domainName),
          { kind: 'user', id: firstText(account.azureAdUserId, account.userSid) },
        ),
      );
    // Defender for Endpoint API evidence is flat.
    if (text(item.entityType)?.toLowerCase() === 'user' || text(item.accountName))
      users.push(
        userOf(trusted(`${field}.accountName`), firstText(item.userPrincipalName, item.accountName), item.domainName, {
          kind: 'user',
          id: firstText(item.aadUserId, item.userSid),
        }),
      );
    const ips = list(item.ipInterfaces).map(text).filter(Boolean);
    hosts.push(
      hostOf(
        trusted(`${field}.${text(item.deviceDnsName) ? 'deviceDnsName' : 'hostName'}`),
        firstText(item.deviceDnsName, item.hostName),
        {
          ip: ips[0],
          os: firstText(item.osPlatform),
          deviceId: firstText(item.mdeDeviceId, item.azureAdDeviceId, item.machineId, item.deviceId),
        },
      ),
    );
  });
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
    hosts: uniqueHosts([
      hostOf(trusted('properties.DeviceName'), p.DeviceName, { ip: p.LocalIP, deviceId: p.DeviceId }),
    ]),
    users: uniqueUsers([
      userOf(
        trusted(`properties.${text(p.AccountUpn) ? 'AccountUpn' : 'AccountName'}`),
        firstText(p.AccountUpn, p.AccountName),
        p.AccountDomain,
        {
          kind: 'user',
          id: firstText(p.AccountObjectId, p.AccountSid),
        },
      ),
    ]),
    evidence: [{ field: 'properties', value: p, trusted: true }],
    untrusted: { commandLine: firstText(p.ProcessCommandLine), filePath: firstText(p.FolderPath) },
    detectionHints: texts(p.Category, p.DetectionSource, p.EntityType),
  };
}

/** Defender for Endpoint API alerts (`/api/alerts`). */
function parseEndpointAlert(raw: JsonRecord): ParsedAlert {
  const evidence = list(raw.evidence);
  const found = fromEvidence(evidence, 'evidence');
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
    hosts: uniqueHosts([
      hostOf(trusted('computerDnsName'), raw.computerDnsName, { deviceId: raw.machineId }),
      ...found.hosts,
    ]),
    users: uniqueUsers([
      userOf(trusted('relatedUser'), related.userName, related.domainName, { kind: 'user' }),
      ...found.users,
    ]),
    evidence: [
      { field: 'title', value: raw.title, trusted: false },
      { field: 'description', value: raw.description, trusted: false },
      { field: 'evidence', value: evidence, trusted: true },
    ],
    detectionHints: texts(raw.category, raw.detectionSource, raw.threatFamilyName),
    skipKey: (key) => key === 'domainName',
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
    const found = fromEvidence(evidence, 'evidence');
    const legacyHosts = list(raw.hostStates).map((h, i) =>
      isRecord(h)
        ? hostOf(trusted(`hostStates[${i}].fqdn`), firstText(h.fqdn, h.netBiosName), {
            ip: firstText(h.privateIpAddress, h.publicIpAddress),
            os: h.os,
          })
        : undefined,
    );
    const legacyUsers = list(raw.userStates).map((u, i) =>
      isRecord(u)
        ? userOf(
            trusted(`userStates[${i}].userPrincipalName`),
            firstText(u.userPrincipalName, u.accountName),
            u.domainName,
            {
              kind: 'user',
              id: u.aadUserId,
            },
          )
        : undefined,
    );
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
        { field: 'title', value: raw.title, trusted: false },
        { field: 'description', value: raw.description, trusted: false },
        { field: 'evidence', value: evidence, trusted: true },
        { field: 'hostStates', value: raw.hostStates, trusted: true },
        { field: 'userStates', value: raw.userStates, trusted: true },
        { field: 'networkConnections', value: raw.networkConnections, trusted: true },
        { field: 'fileStates', value: raw.fileStates, trusted: true },
        { field: 'processes', value: raw.processes, trusted: true },
      ],
      detectionHints: texts(raw.category, raw.detectorId, raw.detectionSource),
      // alertWebUrl / incidentWebUrl point at the Defender portal, not at the attacker.
      // alertWebUrl / incidentWebUrl point at the Defender portal; an account's domainName is our directory.
      skipKey: (key) => /WebUrl$/.test(key) || key === 'domainName',
    };
  },
};
