import { z } from 'zod';

/**
 * The alert formats Warden parses, by the source name a webhook route gives (`POST /v1/webhooks/:source`).
 *
 * - `crowdstrike`: Falcon alerts v2 / detects API entities (incl. Falcon Cloud Security IOA), Event Streams
 *   `DetectionSummaryEvent`, Falcon Data Replicator events.
 * - `defender`: Microsoft Defender XDR Advanced Hunting `AlertInfo` and Defender for Endpoint API alerts.
 * - `graph`: Microsoft Graph security `alert_v2` (and legacy `alert`).
 * - `guardduty`: AWS GuardDuty findings, bare or in an EventBridge envelope, and Security Hub ASFF findings.
 * - `sentinelone`: SentinelOne threats (management API) and threat activities.
 * - `wazuh`: Wazuh alerts (alerts.json lines).
 * - `suricata`: Suricata EVE `alert` events.
 * - `splunk`: Splunk Enterprise Security notable events.
 * - `generic`: anything else; the payload shape still selects one of the parsers above when it matches.
 */
export const AlertFormat = z.enum([
  'crowdstrike',
  'defender',
  'graph',
  'guardduty',
  'sentinelone',
  'wazuh',
  'suricata',
  'splunk',
  'generic',
]);
/** A format Warden parses; see {@link AlertFormat} for what each covers. */
export type AlertFormat = z.infer<typeof AlertFormat>;

/** Normalized severity, as OCSF's severity_id 1-5 (Informational..Critical). */
export const Severity = z.enum(['informational', 'low', 'medium', 'high', 'critical']);
/** Normalized severity. */
export type Severity = z.infer<typeof Severity>;

/**
 * Severity used when the vendor gives none (telemetry events, unknown formats). Not `informational`:
 * an alert nobody graded must not sort below the ones that were.
 */
export const UNGRADED_SEVERITY: Severity = 'medium';

/** A host the alert is about. When the vendor names only an address, `hostname` is that address. */
export const AlertHost = z.object({
  hostname: z.string().min(1),
  ip: z.string().optional(),
  os: z.string().optional(),
});
/** A host the alert is about. */
export type AlertHost = z.infer<typeof AlertHost>;

/** A user account the alert is about. */
export const AlertUser = z.object({ name: z.string().min(1), domain: z.string().optional() });
/** A user account the alert is about. */
export type AlertUser = z.infer<typeof AlertUser>;

/**
 * Observables found in the alert, deduplicated, refanged (`hxxp`, `[.]`) and lower-cased where case does
 * not matter (domains, hashes). Dropped, because they can never be an indicator: all-zero hashes (vendors'
 * "not computed" placeholder); the unspecified, broadcast and loopback addresses (they never identify an
 * external party or an inventory asset); IPv6 in `::/96` (deprecated, and what ARNs like `iam::1234...`
 * look like). Private and documentation-range addresses are kept (they can name internal assets), and so
 * are well-known public ones such as 1.1.1.1.
 */
export const AlertIndicators = z.object({
  ips: z.array(z.string()),
  domains: z.array(z.string()),
  urls: z.array(z.string()),
  hashes: z.object({ md5: z.array(z.string()), sha1: z.array(z.string()), sha256: z.array(z.string()) }),
  emails: z.array(z.string()),
});
/** Observables found in the alert. */
export type AlertIndicators = z.infer<typeof AlertIndicators>;

/**
 * A reference to the raw alert instead of its body, so large payloads stay out of Temporal history.
 * `sha256` is over the canonical JSON (RFC 8785) of the payload; `bytes` is that JSON's UTF-8 length.
 */
export const RawAlertRef = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) });
/** A reference to the raw alert. */
export type RawAlertRef = z.infer<typeof RawAlertRef>;

/**
 * One security alert from any supported vendor, in the spirit of OCSF Detection Finding (class 2004).
 *
 * `alertId` is the vendor's id when it has one, else `sha256-<32 hex>` of the canonical payload: either
 * way the same payload always yields the same id, so `alert-<source>-<alertId>` is an idempotent workflow
 * id. `createdAt` is the vendor's time (ISO 8601, UTC) or, without one, the time the alert was received.
 * `indicatorsTruncated` is true when the payload was larger than the extraction budget and only its
 * beginning was scanned.
 */
export const NormalizedAlert = z.object({
  /** The source name the alert arrived under (the webhook route's `:source`), lower-cased. */
  source: z.string().min(1),
  /** The parser that read it. */
  format: AlertFormat,
  vendor: z.string().min(1),
  product: z.string().min(1),
  alertId: z.string().min(1).max(200),
  title: z.string().min(1),
  description: z.string(),
  severity: Severity,
  /** The vendor's own severity value, as given (`null` when it gives none). */
  vendorSeverity: z.union([z.string(), z.number()]).nullable(),
  createdAt: z.iso.datetime(),
  category: z.string().optional(),
  /** ATT&CK tactics as the vendor names them (names or TA ids). */
  tactics: z.array(z.string()),
  /** ATT&CK technique ids (T1234, T1234.001) when the vendor gives them, else technique names. */
  techniques: z.array(z.string()),
  assets: z.object({ hosts: z.array(AlertHost), users: z.array(AlertUser) }),
  indicators: AlertIndicators,
  indicatorsTruncated: z.boolean(),
  raw: RawAlertRef,
});
/** One security alert, normalized. */
export type NormalizedAlert = z.infer<typeof NormalizedAlert>;

const SEVERITY_WORDS: Record<string, Severity> = {
  info: 'informational',
  informational: 'informational',
  information: 'informational',
  none: 'informational',
  low: 'low',
  minor: 'low',
  medium: 'medium',
  moderate: 'medium',
  med: 'medium',
  high: 'high',
  major: 'high',
  severe: 'high',
  critical: 'critical',
  crit: 'critical',
  fatal: 'critical',
  emergency: 'critical',
};

/** Maps a vendor's severity word (`High`, `CRITICAL`, `moderate`...) to a {@link Severity}; undefined when unknown. */
export function severityFromWord(word: unknown): Severity | undefined {
  if (typeof word !== 'string') return undefined;
  return SEVERITY_WORDS[word.trim().toLowerCase()];
}
