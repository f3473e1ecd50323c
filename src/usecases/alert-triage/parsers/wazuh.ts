import type { Severity } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, num, text, texts } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, trusted, uniqueHosts, uniqueUsers, untrusted, userOf } from './parser';

/*
 * Wazuh alerts (https://documentation.wazuh.com/current/user-manual/ruleset/ruleset-xml-syntax/rules.html).
 * Trust: the agent record (name, id, address) and what the agent or manager computed itself (syscheck
 * hashes, the VirusTotal integration's result) are trusted. `full_log` and the decoded `data.*` fields
 * (srcuser, dstuser, srcip, win.eventdata...) are parsed out of log lines whoever reached the log wrote:
 * untrusted. A rule description may embed decoded fields (`$(srcuser)`, a file path); then it is kept as
 * untrusted text and the title names the rule instead.
 */

/** Wazuh's dashboard bands for rule levels 0-15: low 0-6, medium 7-11, high 12-14, critical 15. */
function severityOf(level: number): Severity {
  if (level >= 15) return 'critical';
  if (level >= 12) return 'high';
  if (level >= 7) return 'medium';
  return 'low';
}

/** String leaves of a value (bounded), to spot decoded values substituted into a rule description. */
function leaves(value: unknown, out: string[] = [], depth = 0): string[] {
  if (out.length > 200 || depth > 6) return out;
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) leaves(v, out, depth + 1);
  else if (isRecord(value)) for (const v of Object.values(value)) leaves(v, out, depth + 1);
  return out;
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
    const ruleText = firstText(rule.description);
    const decoded = leaves([data, at(raw, 'syscheck', 'path')]).filter((v) => v.trim().length >= 4);
    const substituted = ruleText !== undefined && decoded.some((v) => ruleText.includes(v.trim()));
    const groups = texts(rule.groups);
    const { virustotal, ...decodedData } = data;
    return {
      vendor: 'Wazuh',
      product: 'Wazuh',
      alertId: firstText(raw.id),
      title: substituted ? `Wazuh rule ${text(rule.id) ?? '?'}${groups[0] ? ` (${groups.join(', ')})` : ''}` : ruleText,
      description: undefined,
      severity: severityOf(level),
      vendorSeverity: level,
      createdAt: firstTime(raw.timestamp, raw['@timestamp']),
      category: groups.join(', ') || undefined,
      tactics: texts(mitre.tactic),
      techniques: texts(mitre.id).length > 0 ? texts(mitre.id) : texts(mitre.technique),
      hosts: uniqueHosts([
        hostOf(trusted('agent.name'), at(raw, 'agent', 'name'), {
          ip: at(raw, 'agent', 'ip'),
          deviceId: at(raw, 'agent', 'id'),
        }),
      ]),
      users: uniqueUsers([
        userOf(untrusted('data.srcuser'), data.srcuser),
        userOf(untrusted('data.dstuser'), data.dstuser),
        userOf(untrusted('data.win.eventdata.targetUserName'), at(win, 'targetUserName'), at(win, 'targetDomainName')),
        userOf(
          untrusted('data.win.eventdata.subjectUserName'),
          at(win, 'subjectUserName'),
          at(win, 'subjectDomainName'),
        ),
      ]),
      evidence: [
        { field: 'full_log', value: raw.full_log, trusted: false },
        { field: 'data', value: decodedData, trusted: false },
        { field: 'data.virustotal', value: virustotal, trusted: true },
        { field: 'syscheck', value: raw.syscheck, trusted: true },
        // The asset's own address, which enrichment looks up in the inventory.
        { field: 'agent.ip', value: at(raw, 'agent', 'ip'), trusted: true },
      ],
      untrusted: {
        description: firstText(raw.full_log),
        title: substituted ? ruleText : undefined,
        filePath: firstText(at(raw, 'syscheck', 'path'), at(virustotal, 'source', 'file')),
        commandLine: firstText(at(data, 'command'), at(win, 'commandLine')),
      },
      detectionHints: [...groups, ...texts(at(raw, 'decoder', 'name'))],
    };
  },
};
