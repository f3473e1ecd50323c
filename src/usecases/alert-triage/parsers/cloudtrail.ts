import type { AlertUser } from '../alert';
import { UNGRADED_SEVERITY } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, text, texts } from '../raw-fields';
import { awsPrincipalKind } from './aws';
import type { AlertParser } from './parser';
import { trusted, uniqueUsers, untrusted, userOf } from './parser';

/*
 * CloudTrail records (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html).
 * Trust: `userIdentity` is the identity AWS authenticated, and `sourceIPAddress` the address AWS saw (or
 * the AWS service that acted): trusted. A role session name and everything in `requestParameters` /
 * `responseElements` is chosen by the caller: untrusted. A record is telemetry, not a graded alert: its
 * severity is ungraded.
 */

/** The principal behind a CloudTrail `userIdentity` (root, IAM user, assumed role and its session, ...). */
export function cloudTrailPrincipals(identity: unknown, field = 'userIdentity'): Array<AlertUser | undefined> {
  if (!isRecord(identity)) return [];
  const type = text(identity.type);
  const kind = awsPrincipalKind(type);
  const arn = text(identity.arn);
  const id = firstText(identity.arn, identity.principalId);
  switch (type) {
    case 'Root':
      return [userOf(trusted(`${field}.type`), 'root', text(identity.accountId), { kind: 'root', id })];
    case 'IAMUser':
      return [
        userOf(trusted(`${field}.userName`), firstText(identity.userName, arn?.split('/').pop()), undefined, {
          kind,
          id,
        }),
      ];
    case 'AssumedRole': {
      const issuer = at(identity, 'sessionContext', 'sessionIssuer');
      // arn:aws:sts::<account>:assumed-role/<role>/<session>
      const [, role, session] = arn?.split(':').pop()?.split('/') ?? [];
      return [
        userOf(
          trusted(`${field}.sessionContext.sessionIssuer.userName`),
          firstText(at(issuer, 'userName'), role),
          undefined,
          {
            kind: 'role',
            id: firstText(at(issuer, 'arn'), id),
          },
        ),
        userOf(untrusted(`${field}.arn`), session, undefined, { kind: 'user' }),
      ];
    }
    case 'IdentityCenterUser':
    case 'FederatedUser':
    case 'SAMLUser':
    case 'WebIdentityUser':
      return [
        userOf(
          trusted(`${field}.userName`),
          firstText(identity.userName, arn?.split('/').pop(), identity.principalId),
          undefined,
          {
            kind: 'user',
            id,
          },
        ),
      ];
    case 'AWSService':
      return [userOf(trusted(`${field}.invokedBy`), identity.invokedBy, undefined, { kind: 'service_account' })];
    case undefined:
    default:
      return [
        userOf(trusted(`${field}.userName`), firstText(identity.userName, identity.principalId), undefined, {
          kind,
          id,
        }),
      ];
  }
}

/** AWS CloudTrail records, bare or as the `detail` of an EventBridge "AWS API Call via CloudTrail" event. */
export const cloudTrailParser: AlertParser = {
  format: 'cloudtrail',
  matches: (raw): raw is JsonRecord => {
    if (!isRecord(raw)) return false;
    const r = isRecord(raw.detail) && text(raw['detail-type'])?.includes('CloudTrail') ? raw.detail : raw;
    return (
      text(r.eventSource) !== undefined &&
      text(r.eventName) !== undefined &&
      (isRecord(r.userIdentity) || text(r.eventVersion) !== undefined)
    );
  },
  parse(raw) {
    const wrapped = isRecord(raw.detail) && text(raw['detail-type'])?.includes('CloudTrail');
    const r = wrapped ? (raw.detail as JsonRecord) : raw;
    const base = wrapped ? 'detail.' : '';
    const eventName = text(r.eventName);
    const service = text(r.eventSource)?.replace(/\.amazonaws\.com$/, '');
    const failed = firstText(r.errorCode);
    const outcome = at(r, 'responseElements', 'ConsoleLogin');
    const actor = cloudTrailPrincipals(r.userIdentity, `${base}userIdentity`).filter(Boolean) as AlertUser[];
    const who = actor[0] ? ` by ${actor[0].kind === 'root' ? 'root' : actor[0].name}` : '';
    return {
      vendor: 'AWS',
      product: 'CloudTrail',
      alertId: firstText(r.eventID, r.requestID),
      title: `${service ?? 'AWS'} ${eventName ?? 'API call'}${who}${failed ? ` (${failed})` : text(outcome) ? ` (${text(outcome)})` : ''}`,
      description: undefined,
      severity: UNGRADED_SEVERITY,
      vendorSeverity: null,
      createdAt: firstTime(r.eventTime),
      category: firstText(r.eventCategory, r.eventType),
      tactics: [],
      techniques: [],
      hosts: [],
      users: uniqueUsers([
        ...actor,
        // The user an IAM call acts on: named by the caller in its request.
        userOf(untrusted(`${base}requestParameters.userName`), at(r, 'requestParameters', 'userName'), undefined, {
          kind: 'user',
        }),
      ]),
      evidence: [
        { field: `${base}sourceIPAddress`, value: r.sourceIPAddress, trusted: true },
        { field: `${base}requestParameters`, value: r.requestParameters, trusted: false },
        { field: `${base}responseElements`, value: r.responseElements, trusted: false },
      ],
      detectionHints: texts(eventName, r.eventType),
    };
  },
};
