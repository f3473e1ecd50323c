import type { Severity } from '../alert';
import { UNGRADED_SEVERITY } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { atCi, firstText, firstTime, isRecord, list, text, texts } from '../raw-fields';
import type { AlertParser, ParsedAlert } from './parser';
import { hostOf, trusted, uniqueHosts, uniqueUsers, userOf } from './parser';

/*
 * Trust: the agent's own record of its endpoint (computer name, agent id, addresses, logged-in user, the
 * process user, the hashes it computed) is trusted. File names and paths, process arguments and the
 * activity descriptions built from them are the attacker's text: untrusted.
 */

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
    title: `SentinelOne ${classification ?? 'threat'}${confidence ? ` (${confidence})` : ''}`,
    description: undefined,
    severity: severityOf(confidence),
    vendorSeverity: confidence ?? null,
    createdAt: firstTime(atCi(info, 'createdAt'), atCi(info, 'identifiedAt'), atCi(raw, 'createdAt')),
    category: classification,
    tactics: texts(tactics.map((t) => atCi(t, 'name'))),
    techniques: texts(tactics.flatMap((t) => list(atCi(t, 'techniques')).map((x) => atCi(x, 'title')))),
    hosts: uniqueHosts([
      hostOf(
        trusted('agentRealtimeInfo.agentComputerName'),
        firstText(atCi(realtime, 'agentComputerName'), atCi(detection, 'agentComputerName')),
        {
          ip: text(atCi(detection, 'agentIpV4'))?.split(',')[0],
          os: firstText(atCi(realtime, 'agentOsName'), atCi(detection, 'agentOsName'), atCi(realtime, 'agentOsType')),
          deviceId: firstText(atCi(realtime, 'agentId'), atCi(detection, 'agentUuid'), atCi(raw, 'agentId')),
        },
      ),
    ]),
    users: uniqueUsers([
      userOf(trusted('agentDetectionInfo.agentLastLoggedInUserName'), atCi(detection, 'agentLastLoggedInUserName')),
      userOf(trusted('threatInfo.processUser'), atCi(info, 'processUser')),
    ]),
    evidence: [
      { field: 'threatInfo', value: info, trusted: true },
      { field: 'agentDetectionInfo', value: detection, trusted: true },
      { field: 'indicators', value: indicators, trusted: false },
    ],
    untrusted: {
      title: threatName ? `${classification ?? 'Threat'}: ${threatName}` : undefined,
      filePath: firstText(atCi(info, 'filePath')),
      commandLine: firstText(atCi(info, 'maliciousProcessArguments')),
      description: firstText(atCi(info, 'storyline')),
    },
    detectionHints: texts(classification, atCi(info, 'detectionType'), atCi(info, 'mitigationStatus')),
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
    title: `SentinelOne ${text(atCi(data, 'threatClassification')) ?? 'threat'} activity${confidence ? ` (${confidence})` : ''}`,
    description: undefined,
    severity: severityOf(confidence),
    vendorSeverity: confidence ?? null,
    createdAt: firstTime(atCi(raw, 'createdAt'), atCi(raw, 'updatedAt')),
    category: firstText(atCi(data, 'threatClassification')),
    tactics: [],
    techniques: [],
    hosts: uniqueHosts([
      hostOf(trusted('data.computerName'), atCi(data, 'computerName'), { deviceId: firstText(atCi(raw, 'agentId')) }),
    ]),
    users: uniqueUsers([userOf(trusted('data.userName'), firstText(atCi(data, 'userName'), atCi(data, 'username')))]),
    evidence: [
      { field: 'primaryDescription', value: atCi(raw, 'primaryDescription'), trusted: false },
      { field: 'secondaryDescription', value: atCi(raw, 'secondaryDescription'), trusted: false },
      { field: 'data', value: data, trusted: true },
    ],
    untrusted: {
      title: firstText(atCi(raw, 'primaryDescription')),
      description: firstText(atCi(raw, 'secondaryDescription')),
      filePath: firstText(atCi(data, 'filePath')),
    },
    detectionHints: texts(
      atCi(data, 'threatClassification'),
      atCi(raw, 'activityType') === '19' ? 'threat' : undefined,
    ),
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
