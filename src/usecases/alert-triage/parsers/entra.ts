import type { Severity } from '../alert';
import { UNGRADED_SEVERITY } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { atCi, firstText, firstTime, isRecord, num, text, texts } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, trusted, uniqueHosts, uniqueUsers, userOf } from './parser';

/*
 * Microsoft Entra ID sign-in logs: the Graph `signIn` resource
 * (https://learn.microsoft.com/graph/api/resources/signin) and the Azure Monitor diagnostic export
 * (`category` SignInLogs / NonInteractiveUserSignInLogs / ServicePrincipalSignInLogs /
 * ManagedIdentitySignInLogs, the Graph fields under `properties`; some pipelines lower-case the keys).
 * Trust: the principal Entra authenticated (user or service principal), the registered device it reports
 * and the address it saw are trusted. Severity comes from Entra ID Protection's risk level; a sign-in
 * without risk is telemetry and stays ungraded.
 */

function riskSeverity(level: string | undefined): Severity | undefined {
  switch (level?.toLowerCase()) {
    case 'high':
      return 'high';
    case 'medium':
      return 'medium';
    case 'low':
      return 'low';
    case undefined:
    default:
      return undefined;
  }
}

function body(raw: JsonRecord): { record: JsonRecord; base: string } {
  const properties = atCi(raw, 'properties');
  return isRecord(properties) ? { record: properties, base: 'properties.' } : { record: raw, base: '' };
}

/** Entra ID (Azure AD) user and service-principal sign-ins. */
export const entraParser: AlertParser = {
  format: 'entra',
  matches: (raw): raw is JsonRecord => {
    if (!isRecord(raw)) return false;
    if (/SignInLogs$/i.test(text(atCi(raw, 'category')) ?? '') && isRecord(atCi(raw, 'properties'))) return true;
    return (
      text(raw.createdDateTime) !== undefined &&
      (text(raw.userPrincipalName) ?? text(raw.servicePrincipalName) ?? text(raw.servicePrincipalId)) !== undefined &&
      (isRecord(raw.status) || isRecord(raw.deviceDetail) || text(raw.clientAppUsed) !== undefined)
    );
  },
  parse(raw) {
    const { record: r, base } = body(raw);
    const category = text(atCi(raw, 'category'));
    const spName = firstText(atCi(r, 'servicePrincipalName'));
    const spId = firstText(atCi(r, 'servicePrincipalId'));
    const upn = firstText(atCi(r, 'userPrincipalName'));
    const servicePrincipal =
      /ServicePrincipal|ManagedIdentity/i.test(category ?? '') ||
      texts(atCi(r, 'signInEventTypes')).some((t) => /servicePrincipal|managedIdentity/i.test(t)) ||
      (upn === undefined && (spName ?? spId) !== undefined);
    const app = firstText(atCi(r, 'appDisplayName'), atCi(r, 'resourceDisplayName'));
    const errorCode = num(atCi(r, 'status', 'errorCode'));
    const risk = firstText(atCi(r, 'riskLevelDuringSignIn'), atCi(r, 'riskLevelAggregated'));
    const graded = riskSeverity(risk);
    const device = atCi(r, 'deviceDetail');
    const who = servicePrincipal ? (spName ?? app ?? spId) : upn;
    return {
      vendor: 'Microsoft',
      product: 'Entra ID sign-in logs',
      alertId: firstText(atCi(r, 'id'), atCi(raw, 'correlationId')),
      title:
        `${servicePrincipal ? 'Service principal sign-in' : 'Sign-in'}${app ? ` to ${app}` : ''}` +
        `${who ? ` by ${who}` : ''}${errorCode ? ` failed (${errorCode})` : ''}` +
        `${text(atCi(r, 'clientAppUsed')) ? ` via ${text(atCi(r, 'clientAppUsed'))}` : ''}`,
      description: firstText(atCi(r, 'status', 'failureReason'), atCi(r, 'status', 'additionalDetails')),
      severity: graded ?? UNGRADED_SEVERITY,
      vendorSeverity: graded ? risk! : null,
      createdAt: firstTime(atCi(r, 'createdDateTime'), atCi(raw, 'time')),
      category: category ?? 'SignInLogs',
      tactics: [],
      techniques: [],
      hosts: uniqueHosts([
        hostOf(trusted(`${base}deviceDetail.displayName`), firstText(atCi(device, 'displayName')), {
          os: atCi(device, 'operatingSystem'),
          deviceId: atCi(device, 'deviceId'),
        }),
      ]),
      users: uniqueUsers(
        servicePrincipal
          ? [
              userOf(
                trusted(`${base}${spName ? 'servicePrincipalName' : 'appDisplayName'}`),
                spName ?? app ?? spId,
                undefined,
                {
                  kind: 'service_principal',
                  id: spId ?? atCi(r, 'appId'),
                },
              ),
            ]
          : [userOf(trusted(`${base}userPrincipalName`), upn, undefined, { kind: 'user', id: atCi(r, 'userId') })],
      ),
      evidence: [
        { field: `${base}ipAddress`, value: atCi(r, 'ipAddress'), trusted: true },
        { field: 'callerIpAddress', value: atCi(raw, 'callerIpAddress'), trusted: true },
      ],
      detectionHints: [
        'sign-in',
        ...texts(atCi(r, 'riskEventTypes_v2'), atCi(r, 'riskEventTypes'), atCi(r, 'clientAppUsed')),
      ],
    };
  },
};
