import type { Severity } from '../alert';
import { UNGRADED_SEVERITY } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { at, firstText, firstTime, isRecord, num, text, texts } from '../raw-fields';
import type { AlertParser } from './parser';
import { hostOf, isInternalAddress, trusted, uniqueHosts } from './parser';

/*
 * Trust: the flow's addresses are what the sensor saw on the wire, and file hashes it computed itself:
 * trusted. HTTP host and URL, DNS query names, TLS SNI and e-mail headers are bytes the client sent:
 * untrusted.
 */

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
      hosts: uniqueHosts([
        src !== undefined && isInternalAddress(src) ? hostOf(trusted('src_ip'), src, { ip: src }) : undefined,
        dest !== undefined && isInternalAddress(dest) ? hostOf(trusted('dest_ip'), dest, { ip: dest }) : undefined,
      ]),
      users: [],
      evidence: [
        { field: 'src_ip', value: src, trusted: true },
        { field: 'dest_ip', value: dest, trusted: true },
        { field: 'http', value: url, trusted: false },
        { field: 'http', value: raw.http, trusted: false },
        { field: 'dns', value: raw.dns, trusted: false },
        { field: 'tls', value: raw.tls, trusted: false },
        { field: 'smtp', value: raw.smtp, trusted: false },
        { field: 'email', value: raw.email, trusted: false },
        { field: 'fileinfo', value: raw.fileinfo, trusted: true },
        { field: 'files', value: raw.files, trusted: true },
      ],
      untrusted: { description: url },
      detectionHints: texts(alert.category),
    };
  },
};
