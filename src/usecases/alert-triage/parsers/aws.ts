import type { AlertUser, PrincipalKind } from '../alert';
import { UNGRADED_SEVERITY, severityFromScore, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, num, text, texts, techniqueIds } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { hostOf, trusted, uniqueHosts, uniqueUsers, untrusted, userOf } from './parser';

/*
 * Trust: GuardDuty's resource block (instance, access key / principal, Kubernetes and RDS users) and its
 * service.action (remote addresses, API called, calling domain) are AWS's own observations: trusted. Titles
 * and descriptions are prose, and principals named only there are untrusted; so are ASFF ProductFields
 * (free-form, written by whichever product imported the finding) and process command lines.
 */

/** The principal kind of an AWS identity type (GuardDuty `userType`, CloudTrail `userIdentity.type`). */
export function awsPrincipalKind(type: unknown): PrincipalKind | undefined {
  switch (text(type)?.toLowerCase()) {
    case 'root':
      return 'root';
    case 'iamuser':
    case 'federateduser':
    case 'identitycenteruser':
      return 'user';
    case 'assumedrole':
    case 'role':
      return 'role';
    case 'awsservice':
    case 'awsaccount':
      return 'service_account';
    case undefined:
    default:
      return undefined;
  }
}

/** The finding itself: bare, or the `detail` of an EventBridge "GuardDuty Finding" event. */
function unwrap(raw: JsonRecord): JsonRecord {
  const source = text(raw.source);
  return (source === 'aws.guardduty' || source === 'aws.securityhub') && isRecord(raw.detail)
    ? isRecord(raw.detail.findings) || Array.isArray(raw.detail.findings)
      ? (list(raw.detail.findings).find(isRecord) ?? raw.detail)
      : raw.detail
    : raw;
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

/** Principals in a GuardDuty access-key block or an attack sequence's access-key resource. */
function accessKeyUser(field: string, key: unknown): AlertUser | undefined {
  if (!isRecord(key)) return undefined;
  const kind = awsPrincipalKind(key.userType);
  const name = kind === 'root' ? 'root' : text(key.userName);
  return userOf(trusted(`${field}.userName`), name, undefined, { kind, id: firstText(key.principalId) });
}

function parseGuardDuty(raw: JsonRecord): ParsedAlert {
  const f = unwrap(raw);
  const base = f === raw ? '' : 'detail.';
  const resource = isRecord(f.resource) ? f.resource : {};
  const instance = isRecord(resource.instanceDetails) ? resource.instanceDetails : {};
  const nics = list(instance.networkInterfaces).filter(isRecord);
  const score = num(f.severity);
  const findingType = text(f.type);
  const sequence = list(at(f, 'service', 'detection', 'sequence', 'resources')).filter(isRecord);
  const title = firstText(f.title, findingType);
  // Extended threat detection names the principal only in its generated title ("...with IAMUser/john_doe").
  const named = /\b(IAMUser|AssumedRole|Root|FederatedUser)[/:]([\w+=,.@-]*[\w+=@-])/.exec(title ?? '');
  const r = `${base}resource`;
  return {
    vendor: 'AWS',
    product: 'GuardDuty',
    alertId: firstText(f.id),
    title,
    description: firstText(f.description),
    severity: score === undefined ? UNGRADED_SEVERITY : severityFromScore(score, 10),
    vendorSeverity: score ?? null,
    createdAt: firstTime(f.createdAt, at(f, 'service', 'eventFirstSeen'), f.updatedAt),
    // "ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact"
    category: findingType?.split(':')[0],
    tactics: [],
    techniques: techniqueIds(f.description),
    hosts: uniqueHosts([
      ...nics.map((n, i) =>
        hostOf(
          trusted(
            text(n.privateDnsName)
              ? `${r}.instanceDetails.networkInterfaces[${i}].privateDnsName`
              : `${r}.instanceDetails.instanceId`,
          ),
          firstText(n.privateDnsName, instance.instanceId),
          {
            ip: n.privateIpAddress,
            os: instance.platform,
            deviceId: instance.instanceId,
          },
        ),
      ),
      nics.length === 0
        ? hostOf(trusted(`${r}.instanceDetails.instanceId`), instance.instanceId, {
            os: instance.platform,
            deviceId: instance.instanceId,
          })
        : undefined,
      ...sequence.map((s, i) => {
        const ec2 = at(s, 'data', 'ec2Instance');
        const id = firstText(at(ec2, 'instanceId'), text(s.resourceType) === 'AWS::EC2::Instance' ? s.uid : undefined);
        return hostOf(trusted(`${base}service.detection.sequence.resources[${i}]`), id, { deviceId: id });
      }),
    ]),
    users: uniqueUsers([
      accessKeyUser(`${r}.accessKeyDetails`, resource.accessKeyDetails),
      ...sequence.map((s, i) =>
        accessKeyUser(`${base}service.detection.sequence.resources[${i}].data.accessKey`, at(s, 'data', 'accessKey')),
      ),
      userOf(
        trusted(`${r}.kubernetesDetails.kubernetesUserDetails.username`),
        at(resource, 'kubernetesDetails', 'kubernetesUserDetails', 'username'),
      ),
      userOf(trusted(`${r}.rdsDbUserDetails.user`), at(resource, 'rdsDbUserDetails', 'user')),
      named
        ? userOf(untrusted(`${base}title`), named[1] === 'Root' ? 'root' : named[2], undefined, {
            kind: awsPrincipalKind(named[1]),
          })
        : undefined,
    ]),
    evidence: [
      { field: `${base}title`, value: f.title, trusted: false },
      { field: `${base}description`, value: f.description, trusted: false },
      { field: r, value: f.resource, trusted: true },
      { field: `${base}service.action`, value: at(f, 'service', 'action'), trusted: true },
      { field: `${base}service.evidence`, value: at(f, 'service', 'evidence'), trusted: true },
    ],
    detectionHints: texts(findingType, at(f, 'service', 'featureName')),
    // The AWS service an API call went to (iam.amazonaws.com) is AWS's own endpoint, never an indicator.
    skipKey: (key) => key === 'serviceName' || key === 'affectedResources',
  };
}

function parseSecurityHub(raw: JsonRecord): ParsedAlert {
  const f = unwrap(raw);
  const base = f === raw ? '' : 'detail.findings[0].';
  const resources = list(f.Resources).filter(isRecord);
  const label = firstText(at(f, 'Severity', 'Label'), at(f, 'FindingProviderFields', 'Severity', 'Label'));
  const normalized = num(firstText(at(f, 'Severity', 'Normalized')));
  const productName = firstText(f.ProductName, at(f, 'ProductFields', 'aws/securityhub/ProductName'));
  const types = texts(f.Types, at(f, 'FindingProviderFields', 'Types'));
  const hosts = resources.map((res, i) => {
    if (text(res.Type) !== 'AwsEc2Instance') return undefined;
    const details = at(res, 'Details', 'AwsEc2Instance');
    const id = text(res.Id)?.split('/').pop();
    return hostOf(trusted(`${base}Resources[${i}].Id`), id, {
      ip: list(at(details, 'IpV4Addresses'))[0],
      os: at(details, 'Platform'),
      deviceId: id,
    });
  });
  const users = resources.flatMap((res, i) => {
    const key = at(res, 'Details', 'AwsIamAccessKey');
    const field = `${base}Resources[${i}].Details`;
    const kind = awsPrincipalKind(firstText(at(key, 'PrincipalType')));
    const issuer = firstText(at(key, 'SessionContext', 'SessionIssuer', 'UserName'));
    const principalId = firstText(at(key, 'PrincipalId'));
    // An assumed-role principal id is "<role id>:<session name>"; the session name is chosen by the caller.
    const session = kind === 'role' ? principalId?.split(':')[1] : undefined;
    return [
      userOf(
        trusted(`${field}.AwsIamAccessKey`),
        kind === 'role' ? issuer : firstText(at(key, 'PrincipalName'), at(key, 'UserName'), issuer),
        undefined,
        { kind, id: principalId },
      ),
      session
        ? userOf(untrusted(`${field}.AwsIamAccessKey.PrincipalId`), session, undefined, { kind: 'user' })
        : undefined,
      userOf(trusted(`${field}.AwsIamUser.UserName`), at(res, 'Details', 'AwsIamUser', 'UserName'), undefined, {
        kind: 'user',
      }),
      userOf(trusted(`${field}.AwsIamRole.RoleName`), at(res, 'Details', 'AwsIamRole', 'RoleName'), undefined, {
        kind: 'role',
      }),
    ];
  });
  return {
    vendor: 'AWS',
    product: productName ? `Security Hub (${productName})` : 'Security Hub',
    alertId: firstText(f.Id),
    title: firstText(f.Title, types[0]),
    description: firstText(f.Description),
    severity:
      severityFromWord(label) ?? (normalized === undefined ? UNGRADED_SEVERITY : severityFromScore(normalized, 100)),
    vendorSeverity: label ?? normalized ?? null,
    createdAt: firstTime(f.FirstObservedAt, f.CreatedAt, f.UpdatedAt),
    category: types[0],
    tactics: [],
    techniques: techniqueIds(f.Description),
    hosts: uniqueHosts(hosts),
    users: uniqueUsers(users),
    evidence: [
      { field: `${base}Title`, value: f.Title, trusted: false },
      { field: `${base}Description`, value: f.Description, trusted: false },
      { field: `${base}Action`, value: f.Action, trusted: true },
      { field: `${base}Network`, value: f.Network, trusted: true },
      { field: `${base}Process`, value: f.Process, trusted: true },
      { field: `${base}Malware`, value: f.Malware, trusted: true },
      { field: `${base}ThreatIntelIndicators`, value: f.ThreatIntelIndicators, trusted: true },
      { field: `${base}Resources`, value: f.Resources, trusted: true },
      { field: `${base}ProductFields`, value: f.ProductFields, trusted: false },
    ],
    untrusted: {
      commandLine: firstText(at(f, 'Process', 'CommandLine')),
      filePath: firstText(at(f, 'Process', 'Path')),
    },
    detectionHints: [...types, ...texts(productName, f.GeneratorId)],
    skipKey: (key) => key === 'Tags' || key === 'ServiceName' || key === 'GeneratorId',
  };
}

/** AWS GuardDuty findings (bare or in an EventBridge envelope) and Security Hub ASFF findings. */
export const guardDutyParser: AlertParser = {
  format: 'guardduty',
  matches: (raw): raw is JsonRecord => isGuardDutyFinding(raw) || isSecurityHubFinding(raw),
  parse: (raw) => (isGuardDutyFinding(raw) ? parseGuardDuty(raw) : parseSecurityHub(raw)),
};
