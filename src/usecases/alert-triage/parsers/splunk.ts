import { UNGRADED_SEVERITY, severityFromWord } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, list, text, texts, techniqueIds } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, uniqueHosts, uniqueUsers, untrusted, userOf } from './parser';

/*
 * Trust: a notable's entity fields (src, dest, user, src_nt_host...) are extracted from whatever logs the
 * correlation search read, so an attacker who writes a log line chooses them: every host, user and
 * indicator of a notable is untrusted. The rule's name, ES's urgency and the annotations are Splunk's own.
 */

/** ES titles may hold `$field$` tokens that ES fills from the notable's own (log-derived) fields. */
function fillTokens(template: string | undefined, raw: JsonRecord): string | undefined {
  return template?.replace(/\$(\w+)\$/g, (token, name: string) => text(raw[name]) ?? token);
}

/** The template with its tokens named, not filled: `Root login on $dest$` → `Root login on [dest]`. */
function nameTokens(template: string | undefined): string | undefined {
  return template?.replace(/\$(\w+)\$/g, (_token, name: string) => `[${name}]`);
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

/** A field value that names something: ES writes `unknown` for an entity it could not resolve. */
function usable(...values: unknown[]): string | undefined {
  return values.map(text).find((v) => v !== undefined && v.toLowerCase() !== 'unknown');
}

function fieldOf(raw: JsonRecord, keys: string[]): string {
  return keys.find((k) => usable(raw[k]) !== undefined) ?? keys[0]!;
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
      title: nameTokens(firstText(raw.rule_title, raw.rule_name, raw.search_name)),
      description: nameTokens(firstText(raw.rule_description, raw.savedsearch_description)),
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
        hostOf(
          untrusted(fieldOf(raw, ['dest_dns', 'dest_nt_host', 'dest'])),
          usable(raw.dest_dns, raw.dest_nt_host, raw.dest),
          {
            ip: usable(raw.dest_ip),
          },
        ),
        hostOf(
          untrusted(fieldOf(raw, ['src_dns', 'src_nt_host', 'src'])),
          usable(raw.src_dns, raw.src_nt_host, raw.src),
          {
            ip: usable(raw.src_ip),
          },
        ),
        hostOf(untrusted(fieldOf(raw, ['dvc_host', 'dvc'])), usable(raw.dvc_host, raw.dvc)),
      ]),
      users: uniqueUsers([
        userOf(untrusted('user'), usable(raw.user)),
        userOf(untrusted('src_user'), usable(raw.src_user)),
        userOf(untrusted('target_user'), usable(raw.target_user)),
      ]),
      evidence: [{ field: '', value: raw, trusted: false }],
      untrusted: {
        title: fillTokens(firstText(raw.rule_title, raw.rule_name), raw),
        description: firstText(raw._raw, raw.orig_raw, raw.message, raw.body),
      },
      detectionHints: texts(raw.security_domain, raw.search_name, raw.signature, raw.change_type),
      skipKey: isSplunkInternal,
    };
  },
};
