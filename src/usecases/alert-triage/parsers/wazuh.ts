import type { Severity } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, num, text, texts } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, uniqueHosts, uniqueUsers, userOf } from './parser';

/** Wazuh's dashboard bands for rule levels 0-15: low 0-6, medium 7-11, high 12-14, critical 15. */
function severityOf(level: number): Severity {
  if (level >= 15) return 'critical';
  if (level >= 12) return 'high';
  if (level >= 7) return 'medium';
  return 'low';
}

/** Wazuh alerts as written to alerts.json and forwarded by integrations. */
export const wazuhParser: AlertParser = {
  format: 'wazuh',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) &&
    isRecord(raw.rule) &&
    num(raw.rule.level) !== undefined &&
    text(raw.rule.description) !== undefined &&
    (isRecord(raw.agent) || isRecord(raw.manager) || isRecord(raw.decoder)),
  parse(raw) {
    const rule = isRecord(raw.rule) ? raw.rule : {};
    const level = num(rule.level)!;
    const data = isRecord(raw.data) ? raw.data : {};
    const win = at(data, 'win', 'eventdata');
    const mitre = isRecord(rule.mitre) ? rule.mitre : {};
    return {
      vendor: 'Wazuh',
      product: 'Wazuh',
      alertId: firstText(raw.id),
      title: firstText(rule.description),
      description: firstText(raw.full_log, rule.description),
      severity: severityOf(level),
      vendorSeverity: level,
      createdAt: firstTime(raw.timestamp, raw['@timestamp']),
      category: texts(rule.groups).join(', ') || undefined,
      tactics: texts(mitre.tactic),
      techniques: texts(mitre.id).length > 0 ? texts(mitre.id) : texts(mitre.technique),
      hosts: uniqueHosts([hostOf(at(raw, 'agent', 'name'), at(raw, 'agent', 'ip'))]),
      users: uniqueUsers([
        userOf(data.srcuser),
        userOf(data.dstuser),
        userOf(at(win, 'targetUserName'), at(win, 'targetDomainName')),
        userOf(at(win, 'subjectUserName'), at(win, 'subjectDomainName')),
      ]),
      // agent.ip is kept: it is the asset's own address, which enrichment looks up in the inventory.
      evidence: [raw.full_log, data, raw.syscheck, at(raw, 'agent', 'ip')],
    };
  },
};
