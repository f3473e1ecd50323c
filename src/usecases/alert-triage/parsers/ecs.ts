import type { Severity } from '../alert';
import { UNGRADED_SEVERITY, severityFromScore, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, num, text, texts } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, uniqueHosts, uniqueUsers, userOf } from './parser';

/*
 * Elastic Common Schema documents (https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html)
 * and AppOmni's ACES, which follows ECS (https://labs.appomni.com/aces/): alerts from Elastic Security
 * (`kibana.alert.*`), AppOmni threat detection (`appomni.*`, `rule.*`) and any ECS pipeline. Fields may be
 * nested (`event.kind`) or dotted keys (`"event.kind"`).
 * Trust: `host.*` is the reporting agent's own host; the principal is trusted when the source
 * authenticated it itself (AppOmni reads the SaaS provider's audit API; Elastic Endpoint's own process
 * user), otherwise it is log text. Network addresses the source observed and file hashes it computed are
 * trusted; messages, command lines, URLs and DNS names are untrusted.
 */

/** A field by dotted path, nested or as a literal dotted key (ECS allows both). */
function ecs(raw: JsonRecord, path: string): unknown {
  if (Object.prototype.hasOwnProperty.call(raw, path)) return raw[path];
  return at(raw, ...path.split('.'));
}

function severityOf(raw: JsonRecord): { severity: Severity; vendorSeverity: string | number | null } {
  for (const path of ['kibana.alert.severity', 'event.severity', 'rule.severity', 'log.level', 'severity']) {
    const value = ecs(raw, path);
    const word = severityFromWord(value);
    if (word) return { severity: word, vendorSeverity: text(value)! };
  }
  // Elastic's risk scores are 0-100 (21 low, 47 medium, 73 high, 99 critical).
  const risk = num(ecs(raw, 'kibana.alert.risk_score') ?? ecs(raw, 'event.risk_score'));
  if (risk !== undefined) return { severity: severityFromScore(risk, 100), vendorSeverity: risk };
  // A bare numeric event.severity is source-defined; read it on the common 0-10 / 0-100 scales.
  const n = num(ecs(raw, 'event.severity'));
  if (n !== undefined) return { severity: severityFromScore(n, 'auto'), vendorSeverity: n };
  return { severity: UNGRADED_SEVERITY, vendorSeverity: null };
}

/** ECS-shaped documents: AppOmni (ACES), Elastic Security alerts, ECS pipelines. */
export const ecsParser: AlertParser = {
  format: 'ecs',
  matches: (raw): raw is JsonRecord => {
    if (!isRecord(raw)) return false;
    const hasEvent =
      isRecord(raw.event) || text(raw['event.kind']) !== undefined || text(raw['event.action']) !== undefined;
    const ecsMarker =
      text(raw['@timestamp']) !== undefined ||
      isRecord(raw.ecs) ||
      text(raw['ecs.version']) !== undefined ||
      isRecord(raw.appomni);
    const alertish =
      isRecord(raw.rule) ||
      text(ecs(raw, 'event.kind')) !== undefined ||
      isRecord(raw.appomni) ||
      isRecord(raw.kibana) ||
      text(raw['kibana.alert.rule.name']) !== undefined;
    return hasEvent && ecsMarker && alertish;
  },
  parse(raw) {
    const appomni = isRecord(raw.appomni);
    const service = firstText(ecs(raw, 'appomni.service.name'), ecs(raw, 'appomni.service.type'));
    const endpointUser = text(ecs(raw, 'agent.type')) === 'endpoint';
    const userTrust = { trusted: appomni || endpointUser };
    const ruleName = firstText(ecs(raw, 'kibana.alert.rule.name'), ecs(raw, 'rule.name'));
    const action = firstText(ecs(raw, 'event.action'));
    const threat = ecs(raw, 'threat');
    const tactics = list(isRecord(threat) ? threat.tactic : undefined).filter(isRecord);
    const techniques = list(isRecord(threat) ? threat.technique : undefined).filter(isRecord);
    return {
      vendor: appomni ? 'AppOmni' : (firstText(ecs(raw, 'observer.vendor'), ecs(raw, 'event.module')) ?? 'Elastic'),
      product: appomni
        ? `AppOmni${service ? ` (${service})` : ''}`
        : (firstText(ecs(raw, 'observer.product'), ecs(raw, 'event.dataset'), ecs(raw, 'event.module')) ?? 'ECS'),
      alertId: firstText(ecs(raw, 'kibana.alert.uuid'), ecs(raw, 'event.id'), ecs(raw, 'appomni.event.id'), raw._id),
      title: ruleName ?? (action ? `${service ? `${service}: ` : ''}${action}` : undefined),
      description: firstText(ecs(raw, 'kibana.alert.rule.description'), ecs(raw, 'rule.description')),
      ...severityOf(raw),
      createdAt: firstTime(raw['@timestamp'], ecs(raw, 'event.created'), ecs(raw, 'event.ingested')),
      category: firstText(ecs(raw, 'rule.category'), list(ecs(raw, 'event.category'))[0]),
      tactics: texts(tactics.map((t) => t.name)),
      techniques: texts(techniques.map((t) => firstText(t.id, t.name))),
      hosts: uniqueHosts([
        hostOf({ field: 'host.name', trusted: true }, firstText(ecs(raw, 'host.name'), ecs(raw, 'host.hostname')), {
          ip: list(ecs(raw, 'host.ip'))[0],
          os: ecs(raw, 'host.os.name'),
          deviceId: ecs(raw, 'host.id'),
        }),
      ]),
      users: uniqueUsers([
        userOf(
          { field: 'user.name', ...userTrust },
          firstText(ecs(raw, 'user.email'), ecs(raw, 'user.name')),
          ecs(raw, 'user.domain'),
          {
            kind: 'user',
            id: ecs(raw, 'user.id'),
          },
        ),
        userOf(
          { field: 'user.target.name', ...userTrust },
          firstText(ecs(raw, 'user.target.email'), ecs(raw, 'user.target.name')),
          undefined,
          {
            kind: 'user',
            id: ecs(raw, 'user.target.id'),
          },
        ),
        ...list(ecs(raw, 'related.user')).map((u, i) => userOf({ field: `related.user[${i}]`, trusted: false }, u)),
      ]),
      evidence: [
        ...['source', 'destination', 'client', 'server'].map((side) => ({
          field: `${side}.ip`,
          value: ecs(raw, `${side}.ip`),
          trusted: true,
        })),
        { field: 'file.hash', value: ecs(raw, 'file.hash'), trusted: true },
        { field: 'process.hash', value: ecs(raw, 'process.hash'), trusted: true },
        { field: 'threat.indicator', value: ecs(raw, 'threat.indicator'), trusted: true },
        { field: 'related.ip', value: ecs(raw, 'related.ip'), trusted: true },
        { field: 'related.hash', value: ecs(raw, 'related.hash'), trusted: true },
        { field: 'url', value: ecs(raw, 'url'), trusted: false },
        { field: 'dns.question.name', value: ecs(raw, 'dns.question.name'), trusted: false },
        { field: 'message', value: raw.message, trusted: false },
        { field: 'process.command_line', value: ecs(raw, 'process.command_line'), trusted: false },
      ],
      untrusted: {
        description: firstText(raw.message),
        commandLine: firstText(ecs(raw, 'process.command_line')),
        filePath: firstText(ecs(raw, 'file.path')),
      },
      detectionHints: texts(ecs(raw, 'rule.category'), action, ecs(raw, 'event.category'), ecs(raw, 'event.type')),
    };
  },
};
