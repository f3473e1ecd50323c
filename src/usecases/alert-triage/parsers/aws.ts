import type { Severity } from '../alert';
import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, num, text, texts, techniqueIds } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { hostOf, uniqueHosts, uniqueUsers, userOf } from './parser';

/** GuardDuty's bands: 1.0-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical. */
function guardDutySeverity(value: number): Severity {
  if (value >= 9) return 'critical';
  if (value >= 7) return 'high';
  if (value >= 4) return 'medium';
  if (value >= 1) return 'low';
  return 'informational';
}

/** The finding itself: bare, or the `detail` of an EventBridge "GuardDuty Finding" event. */
function unwrap(raw: JsonRecord): JsonRecord {
  return text(raw.source) === 'aws.guardduty' && isRecord(raw.detail) ? raw.detail : raw;
}

function isGuardDutyFinding(raw: unknown): raw is JsonRecord {
  if (!isRecord(raw)) return false;
  const f = unwrap(raw);
  return (
    text(f.type) !== undefined &&
    text(f.id) !== undefined &&
    (text(at(f, 'service', 'serviceName')) === 'guardduty' || (text(f.arn)?.includes(':guardduty:') ?? false))
  );
}

function isSecurityHubFinding(raw: unknown): raw is JsonRecord {
  if (!isRecord(raw)) return false;
  const f = unwrap(raw);
  return text(f.SchemaVersion) !== undefined && text(f.ProductArn) !== undefined && text(f.Id) !== undefined;
}

function parseGuardDuty(raw: JsonRecord): ParsedAlert {
  const f = unwrap(raw);
  const resource = isRecord(f.resource) ? f.resource : {};
  const instance = isRecord(resource.instanceDetails) ? resource.instanceDetails : {};
  const nics = list(instance.networkInterfaces).filter(isRecord);
  const score = num(f.severity);
  const findingType = text(f.type);
  return {
    vendor: 'AWS',
    product: 'GuardDuty',
    alertId: firstText(f.id),
    title: firstText(f.title, findingType),
    description: firstText(f.description),
    severity: score === undefined ? UNGRADED_SEVERITY : guardDutySeverity(score),
    vendorSeverity: score ?? null,
    createdAt: firstTime(f.createdAt, at(f, 'service', 'eventFirstSeen'), f.updatedAt),
    // "ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact"
    category: findingType?.split(':')[0],
    tactics: [],
    techniques: techniqueIds(f.description),
    hosts: uniqueHosts([
      ...nics.map((n) =>
        hostOf(firstText(n.privateDnsName, instance.instanceId), n.privateIpAddress, instance.platform),
      ),
      nics.length === 0 ? hostOf(instance.instanceId, undefined, instance.platform) : undefined,
    ]),
    users: uniqueUsers([userOf(at(resource, 'accessKeyDetails', 'userName'))]),
    evidence: [f.title, f.description, f.resource, at(f, 'service', 'action'), at(f, 'service', 'evidence')],
  };
}

function parseSecurityHub(raw: JsonRecord): ParsedAlert {
  const f = unwrap(raw);
  const resources = list(f.Resources).filter(isRecord);
  const label = firstText(at(f, 'Severity', 'Label'), at(f, 'FindingProviderFields', 'Severity', 'Label'));
  const productName = firstText(f.ProductName, at(f, 'ProductFields', 'aws/securityhub/ProductName'));
  const types = texts(f.Types, at(f, 'FindingProviderFields', 'Types'));
  const hosts = resources
    .filter((r) => text(r.Type) === 'AwsEc2Instance')
    .map((r) => {
      const details = at(r, 'Details', 'AwsEc2Instance');
      return hostOf(text(r.Id)?.split('/').pop(), list(at(details, 'IpV4Addresses'))[0], at(details, 'Platform'));
    });
  const users = resources.map((r) => {
    const key = at(r, 'Details', 'AwsIamAccessKey');
    return userOf(
      firstText(at(key, 'PrincipalName'), at(key, 'UserName'), at(key, 'SessionContext', 'SessionIssuer', 'UserName')),
    );
  });
  return {
    vendor: 'AWS',
    product: productName ? `Security Hub (${productName})` : 'Security Hub',
    alertId: firstText(f.Id),
    title: firstText(f.Title, types[0]),
    description: firstText(f.Description),
    severity: severityFromWord(label) ?? UNGRADED_SEVERITY,
    vendorSeverity: label ?? null,
    createdAt: firstTime(f.FirstObservedAt, f.CreatedAt, f.UpdatedAt),
    category: types[0],
    tactics: [],
    techniques: techniqueIds(f.Description),
    hosts: uniqueHosts(hosts),
    users: uniqueUsers(users),
    evidence: [
      f.Title,
      f.Description,
      f.Action,
      f.Network,
      f.Process,
      f.Malware,
      f.ThreatIntelIndicators,
      f.Resources,
      f.ProductFields,
    ],
  };
}

/** AWS GuardDuty findings (bare or in an EventBridge envelope) and Security Hub ASFF findings. */
export const guardDutyParser: AlertParser = {
  format: 'guardduty',
  matches: (raw): raw is JsonRecord => isGuardDutyFinding(raw) || isSecurityHubFinding(raw),
  parse: (raw) => (isGuardDutyFinding(raw) ? parseGuardDuty(raw) : parseSecurityHub(raw)),
};
