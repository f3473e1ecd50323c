import type { Severity } from '../alert';
import { UNGRADED_SEVERITY, severityFromScore, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, num, text, texts, techniqueIds } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { baseName, hostOf, trusted, uniqueHosts, uniqueUsers, userOf } from './parser';

/*
 * Trust: everything the Falcon sensor or cloud reports about its own device and the process it watched
 * (device record, ComputerName/Hostname, AgentId/SensorId/aid, LocalIP/aip, the user the process ran as,
 * the hashes it computed) is trusted; command lines, request parameters and file paths are text the
 * attacker chose, so they go to `untrusted` and their indicators are untrusted.
 */

const FIVE_LEVELS: readonly Severity[] = ['informational', 'low', 'medium', 'high', 'critical'];

/** A severity word wins; else the score, on a 1-5 scale (older Event Streams) or 0-100 (everything else). */
function severityOf(name: unknown, score: unknown): { severity: Severity; vendorSeverity: string | number | null } {
  const word = severityFromWord(name);
  if (word) return { severity: word, vendorSeverity: text(name) ?? null };
  const n = num(score);
  if (n === undefined) return { severity: UNGRADED_SEVERITY, vendorSeverity: null };
  if (n <= 5) return { severity: FIVE_LEVELS[Math.min(4, Math.max(0, Math.round(n) - 1))]!, vendorSeverity: n };
  return { severity: severityFromScore(n, 100), vendorSeverity: n };
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
    title: firstText(raw.display_name, raw.name, behaviors[0]?.display_name, behaviors[0]?.scenario),
    description: firstText(raw.description, behaviors[0]?.description),
    ...severityOf(firstText(raw.severity_name, raw.max_severity_displayname), raw.severity ?? raw.max_severity),
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
      hostOf(trusted('device.hostname'), device.hostname, {
        ip: device.local_ip,
        os: firstText(device.os_version, device.platform_name),
        deviceId: firstText(device.device_id, raw.agent_id, raw.aid),
      }),
      hostOf(trusted('hostname'), raw.hostname, { ip: raw.local_ip, deviceId: firstText(raw.agent_id, raw.aid) }),
    ]),
    users: uniqueUsers([
      ...texts(raw.user_name, raw.user_names).map((u) =>
        userOf(trusted('user_name'), u, undefined, { id: firstText(raw.user_principal_id, raw.user_id) }),
      ),
      ...behaviors.map((b, i) => userOf(trusted(`behaviors[${i}].user_name`), b.user_name, b.logon_domain)),
    ]),
    evidence: [{ field: '', value: raw, trusted: true }],
    untrusted: {
      commandLine: firstText(raw.cmdline, behaviors[0]?.cmdline),
      filePath: firstText(raw.filepath, behaviors[0]?.filepath),
    },
    detectionHints: texts(raw.type, raw.attack_types, raw.objective, behaviors[0]?.objective),
    // A cloud IOA's event_source is the AWS/Azure service the API call went to, never an indicator.
    skipKey: (key) => key === 'event_source' || key === 'service_provider',
  };
}

/**
 * Event Streams detection summaries (`DetectionSummaryEvent`, `EppDetectionSummaryEvent`), nested under
 * `event` with `metadata` beside it, or flattened into one record as SIEM pipelines store them.
 */
function parseDetectionSummary(raw: JsonRecord): ParsedAlert {
  const nested = isRecord(raw.event);
  const event = nested ? (raw.event as JsonRecord) : raw;
  const p = nested ? 'event.' : '';
  const meta = isRecord(raw.metadata) ? raw.metadata : {};
  const eventType = firstText(meta.eventType, raw.eventType, event.EventType);
  const host = firstText(event.Hostname, event.ComputerName);
  return {
    vendor: 'CrowdStrike',
    product: 'Falcon Event Streams',
    alertId: firstText(event.CompositeId, event.DetectId, event.IncidentId, event.AggregateId),
    title: firstText(event.DetectName, event.Name, event.Description, eventType),
    description: firstText(event.Description, event.DetectDescription),
    ...severityOf(event.SeverityName, event.Severity),
    createdAt: firstTime(meta.eventCreationTime, event.ProcessStartTime, event.Timestamp, event.timestamp),
    category: eventType,
    tactics: texts(event.Tactic),
    techniques: techniqueIds(event.TechniqueId).length > 0 ? techniqueIds(event.TechniqueId) : texts(event.Technique),
    hosts: uniqueHosts([
      hostOf(trusted(`${p}${text(event.Hostname) ? 'Hostname' : 'ComputerName'}`), host, {
        ip: firstText(event.LocalIP, event.LocalIPv4),
        ipField: `${p}${text(event.LocalIP) ? 'LocalIP' : 'LocalIPv4'}`,
        os: firstText(event.PlatformName, event.OSVersion),
        deviceId: firstText(event.AgentId, event.SensorId, event.AgentIdString),
        deviceIdField: `${p}${text(event.AgentId) ? 'AgentId' : 'SensorId'}`,
      }),
    ]),
    users: uniqueUsers([
      userOf(
        trusted(`${p}UserName`),
        event.UserName,
        firstText(event.LogonDomain, event.MachineDomain, event.DomainName),
      ),
    ]),
    evidence: [{ field: nested ? 'event' : '', value: event, trusted: true }],
    untrusted: {
      commandLine: firstText(event.CommandLine),
      filePath: firstText(event.FilePath, event.FileName),
    },
    detectionHints: texts(event.Objective, event.PatternDispositionDescription, eventType),
  };
}

/** Falcon Data Replicator telemetry (`ProcessRollup2`, `DnsRequest`, ...), as shipped by FDR and Panther. */
function parseFdrEvent(raw: JsonRecord): ParsedAlert {
  const nested = isRecord(raw.event);
  const event = nested ? (raw.event as JsonRecord) : raw;
  const simpleName = firstText(raw.event_simpleName, raw.event_simplename, event.event_simpleName, raw.fdr_event_type);
  const image = baseName(firstText(event.ImageFileName, raw.ImageFileName));
  const p = nested ? 'event.' : '';
  return {
    vendor: 'CrowdStrike',
    product: 'Falcon Data Replicator',
    alertId: firstText(raw.id, event.id),
    title: [simpleName, image].filter(Boolean).join(': ') || undefined,
    description: undefined,
    severity: UNGRADED_SEVERITY,
    vendorSeverity: null,
    createdAt: firstTime(raw.timestamp, event.timestamp, event.ProcessStartTime),
    category: simpleName,
    tactics: [],
    techniques: [],
    hosts: uniqueHosts([
      hostOf(trusted(`${p}ComputerName`), firstText(event.ComputerName, raw.ComputerName), {
        ip: firstText(event.LocalAddressIP4, event.LocalIP),
        ipField: `${p}LocalAddressIP4`,
        deviceIdField: 'aid',
        deviceId: firstText(raw.aid, event.aid),
        os: firstText(raw.event_platform, event.event_platform),
      }),
    ]),
    users: uniqueUsers([
      userOf(
        trusted(`${p}UserName`),
        firstText(event.UserName, raw.UserName),
        firstText(event.UserDomain, event.LogonDomain),
      ),
    ]),
    evidence: [
      { field: nested ? 'event' : '', value: event, trusted: true },
      ...(nested ? [{ field: 'aip', value: raw.aip, trusted: true }] : []),
    ],
    untrusted: {
      commandLine: firstText(event.CommandLine),
      filePath: firstText(event.ImageFileName, event.TargetFileName),
      description: firstText(event.DomainName) ? `DNS request for ${text(event.DomainName)}` : undefined,
    },
    detectionHints: texts(simpleName),
  };
}

function isFdr(raw: JsonRecord): boolean {
  return (
    text(raw.event_simpleName) !== undefined ||
    text(raw.event_simplename) !== undefined ||
    text(at(raw, 'event', 'event_simpleName')) !== undefined
  );
}

function isNestedSummary(raw: JsonRecord): boolean {
  // Every Event Streams event carries the customer id in its metadata; the pair is CrowdStrike's alone.
  return (
    isRecord(raw.event) &&
    text(at(raw, 'metadata', 'eventType')) !== undefined &&
    text(at(raw, 'metadata', 'customerIDString')) !== undefined
  );
}

function isFlatSummary(raw: JsonRecord): boolean {
  const id = text(raw.DetectId) ?? text(raw.CompositeId) ?? text(raw.DetectName);
  const device = text(raw.SensorId) ?? text(raw.AgentId) ?? text(raw.ComputerName) ?? text(raw.Hostname);
  const graded = text(raw.SeverityName) ?? text(raw.Severity);
  return id !== undefined && device !== undefined && (graded !== undefined || text(raw.FalconHostLink) !== undefined);
}

function isAlertEntity(raw: JsonRecord): boolean {
  return (
    (text(raw.composite_id) !== undefined && text(raw.cid) !== undefined) ||
    (text(raw.detection_id)?.startsWith('ldt:') ?? false) ||
    texts(raw.source_vendors).some((v) => v.toLowerCase() === 'crowdstrike')
  );
}

/**
 * CrowdStrike Falcon: alerts v2 / detects entities (incl. Cloud IOA), Event Streams detection summaries
 * (nested and flat), FDR events.
 */
export const crowdstrikeParser: AlertParser = {
  format: 'crowdstrike',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) && (isAlertEntity(raw) || isNestedSummary(raw) || isFlatSummary(raw) || isFdr(raw)),
  parse(raw) {
    if (isAlertEntity(raw)) return parseAlertEntity(raw);
    if (isNestedSummary(raw) || isFlatSummary(raw)) return parseDetectionSummary(raw);
    return parseFdrEvent(raw);
  },
};
