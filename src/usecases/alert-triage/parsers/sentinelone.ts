import type { Severity } from '../alert';
import { UNGRADED_SEVERITY } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { atCi, firstText, firstTime, isRecord, list, text, texts } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { hostOf, uniqueHosts, uniqueUsers, userOf } from './parser';

/**
 * SentinelOne grades threats by confidence, not severity: `malicious` (the engine is sure) maps to high,
 * `suspicious` to medium; anything else is ungraded.
 */
function severityOf(confidence: string | undefined): Severity {
  const level = confidence?.toLowerCase();
  if (level === 'malicious') return 'high';
  if (level === 'suspicious') return 'medium';
  return UNGRADED_SEVERITY;
}

/** Management API threats (`/web/api/v2.1/threats`): threatInfo, agentRealtimeInfo, agentDetectionInfo. */
function parseThreat(raw: JsonRecord): ParsedAlert {
  const info = atCi(raw, 'threatInfo');
  const realtime = atCi(raw, 'agentRealtimeInfo');
  const detection = atCi(raw, 'agentDetectionInfo');
  const confidence = text(atCi(info, 'confidenceLevel'));
  const indicators = list(atCi(raw, 'indicators')).filter(isRecord);
  const tactics = indicators.flatMap((i) => list(atCi(i, 'tactics')).filter(isRecord));
  const threatName = firstText(atCi(info, 'threatName'), atCi(info, 'fileDisplayName'));
  const classification = text(atCi(info, 'classification'));
  return {
    vendor: 'SentinelOne',
    product: 'Singularity',
    alertId: firstText(atCi(raw, 'id'), atCi(info, 'threatId')),
    title: threatName ? `${classification ?? 'Threat'}: ${threatName}` : classification,
    description: firstText(atCi(info, 'storyline'), atCi(info, 'filePath')),
    severity: severityOf(confidence),
    vendorSeverity: confidence ?? null,
    createdAt: firstTime(atCi(info, 'createdAt'), atCi(info, 'identifiedAt'), atCi(raw, 'createdAt')),
    category: classification,
    tactics: texts(tactics.map((t) => atCi(t, 'name'))),
    techniques: texts(tactics.flatMap((t) => list(atCi(t, 'techniques')).map((x) => atCi(x, 'title')))),
    hosts: uniqueHosts([
      hostOf(
        firstText(atCi(realtime, 'agentComputerName'), atCi(detection, 'agentComputerName')),
        text(atCi(detection, 'agentIpV4'))?.split(',')[0],
        firstText(atCi(realtime, 'agentOsName'), atCi(detection, 'agentOsName'), atCi(realtime, 'agentOsType')),
      ),
    ]),
    users: uniqueUsers([userOf(firstText(atCi(detection, 'agentLastLoggedInUserName'), atCi(info, 'processUser')))]),
    evidence: [info, detection, indicators],
  };
}

/** Activities (`/web/api/v2.1/activities`) about a threat, as Panther and syslog forwarders ship them. */
function parseActivity(raw: JsonRecord): ParsedAlert {
  const data = atCi(raw, 'data');
  const confidence = text(atCi(data, 'confidenceLevel'));
  return {
    vendor: 'SentinelOne',
    product: 'Singularity',
    alertId: firstText(atCi(raw, 'id'), atCi(raw, 'activityUuid'), atCi(raw, 'threatId')),
    title: firstText(atCi(raw, 'primaryDescription'), atCi(data, 'threatClassification')),
    description: firstText(atCi(raw, 'secondaryDescription'), atCi(data, 'filePath')),
    severity: severityOf(confidence),
    vendorSeverity: confidence ?? null,
    createdAt: firstTime(atCi(raw, 'createdAt'), atCi(raw, 'updatedAt')),
    category: firstText(atCi(data, 'threatClassification')),
    tactics: [],
    techniques: [],
    hosts: uniqueHosts([hostOf(atCi(data, 'computerName'))]),
    users: uniqueUsers([userOf(firstText(atCi(data, 'userName'), atCi(data, 'username')))]),
    evidence: [atCi(raw, 'primaryDescription'), atCi(raw, 'secondaryDescription'), data],
  };
}

/** SentinelOne threats (management API) and threat activities. */
export const sentinelOneParser: AlertParser = {
  format: 'sentinelone',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) &&
    (isRecord(atCi(raw, 'threatInfo')) ||
      (text(atCi(raw, 'activityType')) !== undefined &&
        (text(atCi(raw, 'threatId')) !== undefined || isRecord(atCi(raw, 'data'))) &&
        text(atCi(raw, 'agentId')) !== undefined)),
  parse: (raw) => (isRecord(atCi(raw, 'threatInfo')) ? parseThreat(raw) : parseActivity(raw)),
};
