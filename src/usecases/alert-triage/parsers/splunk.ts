import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, text, texts, techniqueIds } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, uniqueHosts, uniqueUsers, userOf } from './parser';

/** ES titles may hold `$field$` tokens that ES fills from the notable's own fields. */
function fillTokens(template: string | undefined, raw: JsonRecord): string | undefined {
  return template?.replace(/\$(\w+)\$/g, (token, name: string) => text(raw[name]) ?? token);
}

/**
 * Splunk-internal fields that look like indicators but are not: underscore fields (`_cd`, `_bkt`, ...;
 * `_raw` is the event itself and is scanned), `event_hash` (a digest of the notable, not of a file), search
 * and drill-down bookkeeping.
 */
function isSplunkInternal(key: string): boolean {
  return (
    (key.startsWith('_') && key !== '_raw') ||
    key === 'event_hash' ||
    key === 'indexer_guid' ||
    key.startsWith('drilldown') ||
    key.startsWith('info_') ||
    key === 'extract_artifacts' ||
    key === 'orig_sid' ||
    key === 'orig_rid'
  );
}

/** Splunk Enterprise Security notable events (the `notable` index / `notable` macro / ES API). */
export const splunkParser: AlertParser = {
  format: 'splunk',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) &&
    (text(raw.search_name) ?? text(raw.rule_name)) !== undefined &&
    (text(raw.event_id) ?? text(raw.rule_id)) !== undefined &&
    (text(raw.index) === 'notable' ||
      texts(raw.eventtype).includes('notable') ||
      text(raw.urgency) !== undefined ||
      text(raw.orig_sid) !== undefined),
  parse(raw) {
    const urgency = firstText(raw.urgency);
    const severity = firstText(raw.severity, raw.severities);
    const word = severityFromWord(urgency) ?? severityFromWord(severity);
    const annotations = [at(raw, 'annotations', 'mitre_attack'), raw['annotations.mitre_attack']];
    return {
      vendor: 'Splunk',
      product: 'Enterprise Security',
      alertId: firstText(raw.event_id, raw.rule_id),
      title: fillTokens(firstText(raw.rule_title, raw.rule_name, raw.search_name), raw),
      description: fillTokens(firstText(raw.rule_description, raw.savedsearch_description, raw.description), raw),
      severity: word ?? UNGRADED_SEVERITY,
      vendorSeverity: urgency ?? severity ?? null,
      createdAt: firstTime(raw._time, raw.orig_time, raw.info_search_time),
      category: firstText(raw.security_domain),
      tactics: texts(
        at(raw, 'annotations', 'mitre_attack', 'mitre_tactic'),
        raw['annotations.mitre_attack.mitre_tactic'],
      ),
      techniques: techniqueIds(...annotations.flatMap(list)),
      hosts: uniqueHosts([
        hostOf(firstText(raw.dest_dns, raw.dest_nt_host, raw.dest), raw.dest_ip),
        hostOf(firstText(raw.src_dns, raw.src_nt_host, raw.src), raw.src_ip),
        hostOf(firstText(raw.dvc_host, raw.dvc)),
      ]),
      users: uniqueUsers([userOf(raw.user), userOf(raw.src_user), userOf(raw.target_user)]),
      evidence: [raw],
      skipKey: isSplunkInternal,
    };
  },
};
