import net from 'node:net';
import path from 'node:path';
import { isDomain, isEmail } from 'ioc-extractor';
import { NormalizedAlert, normalizeAlert } from '../../../src/usecases/alert-triage';
import type { AlertFormat } from '../../../src/usecases/alert-triage';
import { describeWithSharedData, readJson } from '../../harness/shared-data';

interface ManifestEntry {
  file: string;
  vendor: string;
  product: string;
  iocs_found: { ips: Array<{ ip: string }>; urls: string[]; domains: string[]; hashes: string[] };
}

/** The source name a webhook for this vendor/product would use, and the parser that should read it. */
function routeFor(entry: ManifestEntry): { source: string; format: AlertFormat } {
  const vendor = entry.vendor.toLowerCase();
  const product = entry.product.toLowerCase();
  if (vendor === 'crowdstrike') return { source: 'crowdstrike', format: 'crowdstrike' };
  if (vendor === 'aws' && (product.includes('guardduty') || product.includes('security hub')))
    return { source: 'guardduty', format: 'guardduty' };
  if (vendor === 'aws' && product.includes('cloudtrail')) return { source: 'cloudtrail', format: 'cloudtrail' };
  if (vendor === 'microsoft' && product.includes('defender xdr')) return { source: 'defender', format: 'defender' };
  if (vendor === 'microsoft' && product.includes('graph')) return { source: 'graph', format: 'graph' };
  if (vendor === 'microsoft' && (product.includes('entra') || product.includes('sign')))
    return { source: 'entra', format: 'entra' };
  if (vendor === 'microsoft') return { source: 'graph', format: 'graph' };
  if (vendor === 'sentinelone') return { source: 'sentinelone', format: 'sentinelone' };
  if (vendor === 'wazuh') return { source: 'wazuh', format: 'wazuh' };
  if (vendor.includes('suricata')) return { source: 'suricata', format: 'suricata' };
  if (vendor === 'splunk') return { source: 'splunk', format: 'splunk' };
  if (vendor === 'wiz') return { source: 'wiz', format: 'wiz' };
  if (vendor === 'proofpoint') return { source: 'proofpoint', format: 'proofpoint' };
  return { source: vendor.split(/\s+/)[0]!, format: 'generic' };
}

/** Fields that hold an indicator in each vendor format; the test reads their values from the raw file. */
const INDICATOR_PATHS: Partial<Record<AlertFormat, string[][]>> = {
  crowdstrike: [
    ['aip'],
    ['event', 'SHA256HashData'],
    ['event', 'MD5HashData'],
    ['event', 'SHA256String'],
    ['event', 'MD5String'],
    ['event', 'LocalIP'],
    ['source_ip_address'],
  ],
  defender: [
    ['properties', 'RemoteIP'],
    ['properties', 'SHA256'],
  ],
  graph: [['evidence', '0', 'userAccount', 'userPrincipalName']],
  guardduty: [
    ['Action', 'AwsApiCallAction', 'RemoteIpDetails', 'IpAddressV4'],
    ['service', 'action', 'awsApiCallAction', 'domainDetails', 'domain'],
  ],
  sentinelone: [
    ['data', 'filecontenthash'],
    ['threatInfo', 'sha1'],
  ],
  wazuh: [
    ['agent', 'ip'],
    ['syscheck', 'md5_after'],
    ['syscheck', 'sha1_after'],
    ['syscheck', 'sha256_after'],
    ['data', 'virustotal', 'source', 'md5'],
    ['data', 'virustotal', 'source', 'sha1'],
  ],
  suricata: [['src_ip'], ['dest_ip'], ['http', 'hostname']],
  splunk: [['src_ip'], ['dest_ip'], ['file_hash']],
};

function get(value: unknown, keys: string[]): unknown {
  return keys.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
    value,
  );
}

/** Whether a field value is an indicator at all (anonymized fixtures hold "xxx.xxx.x.x" and zeroed hashes). */
function isIndicator(value: string): boolean {
  if (/^0+$/.test(value)) return false;
  return (
    net.isIP(value) !== 0 ||
    /^(?:[a-f0-9]{32}|[a-f0-9]{40}|[a-f0-9]{64})$/i.test(value) ||
    isEmail(value) ||
    isDomain(value)
  );
}

/** Where a value should land in `indicators`, judged by its shape. */
function bucket(alert: NormalizedAlert, value: string): string[] {
  if (net.isIP(value)) return alert.indicators.ips;
  if (/^[a-f0-9]{32}$/i.test(value)) return alert.indicators.hashes.md5;
  if (/^[a-f0-9]{40}$/i.test(value)) return alert.indicators.hashes.sha1;
  if (/^[a-f0-9]{64}$/i.test(value)) return alert.indicators.hashes.sha256;
  if (value.includes('@')) return alert.indicators.emails;
  return alert.indicators.domains;
}

describeWithSharedData('alert normalization on the real third-party alerts', 'alerts', (ALERTS_DIR) => {
  const manifest = readJson<{ alerts: ManifestEntry[] }>(path.join(ALERTS_DIR, 'manifest.json'));
  const raw = (entry: ManifestEntry): unknown => readJson(path.join(ALERTS_DIR, entry.file));
  it('covers every alert in the manifest', () => {
    expect(manifest.alerts.length).toBeGreaterThanOrEqual(20);
  });

  describe.each(manifest.alerts.map((entry) => [entry.file, entry] as const))('%s', (_file, entry) => {
    const { source, format } = routeFor(entry);
    const alert = normalizeAlert(source, raw(entry));

    it('normalizes to a valid alert with the expected parser, vendor, product and title', () => {
      expect(() => NormalizedAlert.parse(alert)).not.toThrow();
      expect(alert.format).toBe(format);
      expect(alert.source).toBe(source);
      const [ours, theirs] = [alert.vendor.toLowerCase(), entry.vendor.toLowerCase()];
      expect(theirs.includes(ours) || ours.includes(theirs)).toBe(true);
      expect(alert.product).not.toBe('');
      expect(alert.title.trim()).not.toBe('');
    });

    it('derives the same alertId every time, also from the payload shape alone', () => {
      expect(normalizeAlert(source, raw(entry)).alertId).toBe(alert.alertId);
      const bySHape = normalizeAlert('generic', raw(entry));
      if (format !== 'generic') expect(bySHape.format).toBe(format);
      expect(bySHape.alertId).toBe(alert.alertId);
    });

    it('keeps only a digest of the raw alert', () => {
      expect(Object.keys(alert.raw).sort()).toEqual(['bytes', 'sha256']);
      expect(alert.raw.bytes).toBeGreaterThan(0);
      expect(JSON.stringify(alert)).not.toContain(JSON.stringify(raw(entry)).slice(0, 200));
    });

    it('extracts the indicators the raw alert holds', () => {
      const body = raw(entry);
      // Never invented: every indicator reported stands in the raw alert.
      const rawText = JSON.stringify(body).toLowerCase();
      for (const o of alert.observables)
        expect(rawText).toContain(o.type === 'url' ? new URL(o.value).hostname : o.value.toLowerCase());
      const values = (INDICATOR_PATHS[format] ?? [])
        .map((p) => get(body, p))
        .filter((v): v is string => typeof v === 'string' && isIndicator(v));
      for (const value of values) expect(bucket(alert, value)).toContain(value.toLowerCase());
    });
  });

  it('checks a meaningful number of vendor indicator fields', () => {
    const checked = manifest.alerts.flatMap((entry) => {
      const { format } = routeFor(entry);
      return (INDICATOR_PATHS[format] ?? [])
        .map((p) => get(raw(entry), p))
        .filter((v) => typeof v === 'string' && isIndicator(v));
    });
    expect(checked.length).toBeGreaterThanOrEqual(20);
  });

  it('finds indicators in free text too: an IP in a command line, a URL joined from EVE fields', () => {
    const netcat = manifest.alerts.find((a) => a.file.includes('reverse-shell'))!;
    const body = raw(netcat) as { event: { CommandLine: string } };
    const ipInCommand = body.event.CommandLine.split(/\s+/).find((t) => net.isIPv4(t))!;
    expect(normalizeAlert('crowdstrike', body).indicators.ips).toContain(ipInCommand);

    const eve = raw(manifest.alerts.find((a) => a.file.startsWith('suricata'))!) as {
      http: { hostname: string; url: string };
    };
    expect(normalizeAlert('suricata', eve).indicators.urls).toContain(`http://${eve.http.hostname}${eve.http.url}`);
  });

  it("skips vendor-internal values that only look like indicators (Splunk's event_hash, all-zero hashes)", () => {
    const notable = raw(manifest.alerts.find((a) => a.file.includes('splunk'))!) as { event_hash: string };
    expect(normalizeAlert('splunk', notable).indicators.hashes.md5).not.toContain(notable.event_hash);
    const fdr = raw(manifest.alerts.find((a) => a.file.includes('mimikatz'))!) as { event: { SHA1HashData: string } };
    expect(fdr.event.SHA1HashData).toMatch(/^0+$/);
    expect(normalizeAlert('crowdstrike', fdr).indicators.hashes.sha1).not.toContain(fdr.event.SHA1HashData);
  });
});
