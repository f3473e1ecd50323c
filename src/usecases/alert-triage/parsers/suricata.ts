import type { Severity } from '../alert';
import { UNGRADED_SEVERITY } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, num, text, texts } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, isInternalAddress, uniqueHosts } from './parser';

/** Suricata's classification priority: 1 high, 2 medium, 3 low, 4 and beyond informational. */
function severityOf(priority: number): Severity {
  if (priority <= 1) return 'high';
  if (priority === 2) return 'medium';
  if (priority === 3) return 'low';
  return 'informational';
}

/** Suricata EVE `alert` events (eve.json). */
export const suricataParser: AlertParser = {
  format: 'suricata',
  matches: (raw): raw is JsonRecord =>
    isRecord(raw) &&
    text(raw.event_type) === 'alert' &&
    isRecord(raw.alert) &&
    (text(raw.src_ip) ?? text(raw.dest_ip)) !== undefined,
  parse(raw) {
    const alert = isRecord(raw.alert) ? raw.alert : {};
    const priority = num(alert.severity);
    const src = firstText(raw.src_ip);
    const dest = firstText(raw.dest_ip);
    const endpoint = (ip: string | undefined, port: unknown) => `${ip ?? '?'}${text(port) ? `:${text(port)}` : ''}`;
    const protocol = [text(raw.proto), text(raw.app_proto)].filter(Boolean).join('/');
    // EVE splits an HTTP URL into hostname and path; joined, the URL is an indicator of its own.
    const host = text(at(raw, 'http', 'hostname'));
    const path = text(at(raw, 'http', 'url'));
    const scheme = text(raw.app_proto) === 'tls' ? 'https' : 'http';
    const url = host && path?.startsWith('/') ? `${scheme}://${host}${path}` : undefined;
    return {
      vendor: 'OISF',
      product: 'Suricata',
      // EVE alerts carry no alert id (flow_id names the flow, which may raise several alerts): digest-based.
      alertId: undefined,
      title: firstText(alert.signature, alert.category),
      description:
        `${text(alert.category) ?? 'Alert'}: ${endpoint(src, raw.src_port)} -> ${endpoint(dest, raw.dest_port)}` +
        (protocol ? ` (${protocol})` : ''),
      severity: priority === undefined ? UNGRADED_SEVERITY : severityOf(priority),
      vendorSeverity: priority ?? null,
      createdAt: firstTime(raw.timestamp),
      category: firstText(alert.category),
      tactics: texts(at(alert, 'metadata', 'mitre_tactic_name')),
      techniques: texts(at(alert, 'metadata', 'mitre_technique_id')),
      // Only the internal side of the flow is a candidate asset; the other side is a remote party.
      hosts: uniqueHosts(
        [src, dest].filter((ip) => ip !== undefined && isInternalAddress(ip)).map((ip) => hostOf(ip, ip)),
      ),
      users: [],
      evidence: [src, dest, url, raw.http, raw.dns, raw.tls, raw.smtp, raw.email, raw.fileinfo, raw.files],
    };
  },
};
