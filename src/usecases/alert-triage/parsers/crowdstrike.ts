import type { Severity } from '../alert';
import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, num, text, texts, techniqueIds } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { baseName, hostOf, uniqueHosts, uniqueUsers, userOf } from './parser';

/** CrowdStrike's 0-100 severity bands: 1-19 informational, 20 low, 40 medium, 60 high, 80-100 critical. */
function severityFromScore(score: number): Severity {
  if (score >= 80) return 'critical';
  if (score >= 60) return 'high';
  if (score >= 40) return 'medium';
  if (score >= 20) return 'low';
  return 'informational';
}

const FIVE_LEVELS: readonly Severity[] = ['informational', 'low', 'medium', 'high', 'critical'];

/** A severity word wins; else the score, on a 1-5 scale (older Event Streams) or 0-100 (everything else). */
function severityOf(
  name: unknown,
  score: unknown,
  scale: 5 | 100,
): { severity: Severity; vendorSeverity: string | number | null } {
  const word = severityFromWord(name);
  if (word) return { severity: word, vendorSeverity: text(name) ?? null };
  const n = num(score);
  if (n === undefined) return { severity: UNGRADED_SEVERITY, vendorSeverity: null };
  if (scale === 5) return { severity: FIVE_LEVELS[Math.min(4, Math.max(0, Math.round(n) - 1))]!, vendorSeverity: n };
  return { severity: severityFromScore(n), vendorSeverity: n };
}

/** Falcon alerts v2 / detects API entities: endpoint detections and Falcon Cloud Security IOAs. */
function parseAlertEntity(raw: JsonRecord): ParsedAlert {
  const behaviors = list(raw.behaviors).filter(isRecord);
  const mitre = list(raw.mitre_attack).filter(isRecord);
  const device = isRecord(raw.device) ? raw.device : {};
  return {
    vendor: 'CrowdStrike',
    product:
      firstText(list(raw.source_products)[0], raw.product === 'fcs' ? 'Falcon Cloud Security' : undefined) ??
      `Falcon${text(raw.product) ? ` (${text(raw.product)})` : ''}`,
    alertId: firstText(raw.composite_id, raw.detection_id, raw.id),
    title: firstText(raw.display_name, raw.name, behaviors[0]?.display_name, behaviors[0]?.scenario, raw.description),
    description: firstText(raw.description, behaviors[0]?.description),
    ...severityOf(firstText(raw.severity_name, raw.max_severity_displayname), raw.severity ?? raw.max_severity, 100),
    createdAt: firstTime(raw.created_timestamp, raw.timestamp, raw.first_behavior, raw.crawled_timestamp),
    category: firstText(raw.type, list(raw.attack_types)[0]),
    tactics: texts(
      raw.tactic,
      mitre.map((m) => m.tactic),
      behaviors.map((b) => b.tactic),
    ),
    techniques: [
      ...new Set([
        ...texts(
          raw.technique_id,
          mitre.map((m) => m.technique_id),
          behaviors.map((b) => b.technique_id),
        ),
        ...(text(raw.technique_id) ? [] : texts(raw.technique)),
      ]),
    ],
    hosts: uniqueHosts([
      hostOf(device.hostname, device.local_ip, firstText(device.os_version, device.platform_name)),
      hostOf(raw.hostname, raw.local_ip),
    ]),
    users: uniqueUsers([
      ...texts(
        raw.user_name,
        raw.user_names,
        behaviors.map((b) => b.user_name),
      ).map((u) => userOf(u)),
    ]),
    evidence: [raw],
  };
}

/** Event Streams events (`DetectionSummaryEvent`, `EppDetectionSummaryEvent`, ...). */
function parseStreamingEvent(raw: JsonRecord): ParsedAlert {
  const event = isRecord(raw.event) ? raw.event : {};
  const eventType = text(at(raw, 'metadata', 'eventType'));
  return {
    vendor: 'CrowdStrike',
    product: 'Falcon Event Streams',
    alertId: firstText(event.CompositeId, event.DetectId, event.IncidentId),
    title: firstText(event.DetectName, event.Name, event.Description, eventType),
    description: firstText(event.Description, event.DetectDescription, event.CommandLine),
    ...severityOf(
      event.SeverityName,
      event.Severity,
      num(event.Severity) !== undefined && num(event.Severity)! <= 5 ? 5 : 100,
    ),
    createdAt: firstTime(at(raw, 'metadata', 'eventCreationTime'), event.ProcessStartTime, event.Timestamp),
    category: eventType,
    tactics: texts(event.Tactic),
    techniques: techniqueIds(event.TechniqueId).length > 0 ? techniqueIds(event.TechniqueId) : texts(event.Technique),
    hosts: uniqueHosts([hostOf(event.ComputerName, event.LocalIP)]),
    users: uniqueUsers([userOf(event.UserName, event.DomainName)]),
    evidence: [event],
  };
}

/** Falcon Data Replicator telemetry (`ProcessRollup2`, `DnsRequest`, ...), as shipped by FDR and Panther. */
function parseFdrEvent(raw: JsonRecord): ParsedAlert {
  const event = isRecord(raw.event) ? raw.event : raw;
  const simpleName = firstText(raw.event_simpleName, raw.event_simplename, event.event_simpleName, raw.fdr_event_type);
  const image = baseName(firstText(event.ImageFileName, raw.ImageFileName));
  return {
    vendor: 'CrowdStrike',
    product: 'Falcon Data Replicator',
    alertId: firstText(raw.id, event.id),
    title: [simpleName, image].filter(Boolean).join(': ') || undefined,
    description: firstText(event.CommandLine, event.DomainName),
    severity: UNGRADED_SEVERITY,
    vendorSeverity: null,
    createdAt: firstTime(raw.timestamp, event.timestamp, event.ProcessStartTime),
    category: simpleName,
    tactics: [],
    techniques: [],
    hosts: uniqueHosts([hostOf(firstText(event.ComputerName, raw.ComputerName), event.LocalAddressIP4)]),
    users: uniqueUsers([userOf(firstText(event.UserName, raw.UserName), event.UserDomain)]),
    evidence: [event === raw ? raw : { event, aip: raw.aip }],
  };
}

function isFdr(raw: JsonRecord): boolean {
  return (
    text(raw.event_simpleName) !== undefined ||
    text(raw.event_simplename) !== undefined ||
    text(at(raw, 'event', 'event_simpleName')) !== undefined
  );
}

function isStreamingEvent(raw: JsonRecord): boolean {
  // Every Event Streams event carries the customer id in its metadata; the pair is CrowdStrike's alone.
  return (
    isRecord(raw.event) &&
    text(at(raw, 'metadata', 'eventType')) !== undefined &&
    text(at(raw, 'metadata', 'customerIDString')) !== undefined
  );
}

function isAlertEntity(raw: JsonRecord): boolean {
  return (
    (text(raw.composite_id) !== undefined && text(raw.cid) !== undefined) ||
    (text(raw.detection_id)?.startsWith('ldt:') ?? false) ||
    texts(raw.source_vendors).some((v) => v.toLowerCase() === 'crowdstrike')
  );
}

/** CrowdStrike Falcon: alerts v2 / detects entities (incl. Cloud IOA), Event Streams events, FDR events. */
export const crowdstrikeParser: AlertParser = {
  format: 'crowdstrike',
  matches: (raw): raw is JsonRecord => isRecord(raw) && (isAlertEntity(raw) || isStreamingEvent(raw) || isFdr(raw)),
  parse(raw) {
    if (isAlertEntity(raw)) return parseAlertEntity(raw);
    if (isStreamingEvent(raw)) return parseStreamingEvent(raw);
    return parseFdrEvent(raw);
  },
};
