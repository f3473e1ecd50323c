import { z } from 'zod';

/**
 * The alert formats Warden parses, by the source name a webhook route gives (`POST /v1/webhooks/:source`).
 *
 * - `crowdstrike`: Falcon alerts v2 / detects API entities (incl. Falcon Cloud Security IOA), Event Streams
 *   `DetectionSummaryEvent` (nested and flattened), Falcon Data Replicator events.
 * - `defender`: Microsoft Defender XDR Advanced Hunting `AlertInfo` and Defender for Endpoint API alerts.
 * - `graph`: Microsoft Graph security `alert_v2` (and legacy `alert`).
 * - `entra`: Microsoft Entra ID (Azure AD) sign-in logs: user and service-principal sign-ins, from Graph
 *   (`/auditLogs/signIns`) or Azure Monitor diagnostic export (`properties.*`).
 * - `guardduty`: AWS GuardDuty findings, bare or in an EventBridge envelope, and Security Hub ASFF findings.
 * - `cloudtrail`: AWS CloudTrail records (root, IAM users, assumed roles, federated and AWS services).
 * - `okta`: Okta System Log events.
 * - `gsuite`: Google Workspace Alert Center alerts and Admin SDK Reports activities.
 * - `carbonblack`: VMware Carbon Black Cloud alerts (v7 and v6 alert APIs, data forwarder).
 * - `sentinelone`: SentinelOne threats (management API) and threat activities.
 * - `wazuh`: Wazuh alerts (alerts.json lines).
 * - `suricata`: Suricata EVE `alert` events.
 * - `splunk`: Splunk Enterprise Security notable events.
 * - `wiz`: Wiz issues and Wiz Defend detections/threats.
 * - `proofpoint`: Proofpoint TAP SIEM API message and click events.
 * - `ecs`: Elastic Common Schema documents, as AppOmni, Elastic Security and ECS pipelines emit them.
 * - `generic`: anything else; the payload shape still selects one of the parsers above when it matches.
 */
export const AlertFormat = z.enum([
  'crowdstrike',
  'defender',
  'graph',
  'entra',
  'guardduty',
  'cloudtrail',
  'okta',
  'gsuite',
  'carbonblack',
  'sentinelone',
  'wazuh',
  'suricata',
  'splunk',
  'wiz',
  'proofpoint',
  'ecs',
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

/**
 * Where an entity came from: `field` is the JSON path it was read from (`device.hostname`,
 * `event.CommandLine`); `trusted` says whether the vendor reports that field as its own observation of
 * its own inventory or telemetry (an EDR's device record, a cloud provider's resource or principal, a
 * sensor's packet addresses, a file hash the agent computed) rather than text an attacker can write (log
 * messages, command lines, URLs and addresses inside free text, e-mail headers and bodies, user names a
 * log line claims). Only trusted entities may be acted on without a human; see `inScopeTargets`.
 * Declared per vendor field in each parser; anything from a format Warden does not know is untrusted.
 */
export const Provenance = z.object({ field: z.string().min(1), trusted: z.boolean() });
/** Where an entity came from. */
export type Provenance = z.infer<typeof Provenance>;

/**
 * A host or device the alert is about. When the vendor names only an address or a device id, `hostname`
 * is that address or id. `deviceId` is the vendor's own id for the device (CrowdStrike `device_id`/`aid`,
 * Defender `machineId`/`mdeDeviceId`, SentinelOne agent id, Carbon Black `device_id`, an EC2 instance id).
 */
export const AlertHost = z.object({
  hostname: z.string().min(1),
  ip: z.string().optional(),
  os: z.string().optional(),
  deviceId: z.string().optional(),
  ...Provenance.shape,
});
/** A host the alert is about. */
export type AlertHost = z.infer<typeof AlertHost>;

/**
 * What kind of principal a user entry is: a person's account, the AWS root user, an assumed IAM role
 * session, a service principal / app, or a service (machine) account.
 */
export const PrincipalKind = z.enum(['user', 'root', 'role', 'service_principal', 'service_account']);
/** What kind of principal a user entry is. */
export type PrincipalKind = z.infer<typeof PrincipalKind>;

/**
 * A user account (or other principal) the alert is about. `id` is the vendor's id for it (AWS principal
 * id or ARN, Entra object id, Okta user id) when given.
 */
export const AlertUser = z.object({
  name: z.string().min(1),
  domain: z.string().optional(),
  kind: PrincipalKind.optional(),
  id: z.string().optional(),
  ...Provenance.shape,
});
/** A user account the alert is about. */
export type AlertUser = z.infer<typeof AlertUser>;

/**
 * Observables found in the alert, deduplicated, refanged (`hxxp`, `[.]`) and lower-cased where case does
 * not matter (domains, hashes). Never invented: no address out of a version or user-agent string, no file
 * name as a domain (a domain must end in a public suffix and not stand in a file or path field or a path),
 * no identifier as a hash (a hash comes from a hash-named field or from text that names it a hash). Dropped,
 * because they can never be an indicator: all-zero hashes; the unspecified, broadcast and loopback
 * addresses; network addresses `N.0.0.0`; IPv6 in `::/96`. Private and documentation-range addresses are
 * kept (they can name internal assets). Which field each came from, and whether it is trusted, is in
 * `NormalizedAlert.observables`.
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

/** The kinds of observable. */
export const ObservableType = z.enum(['ip', 'domain', 'url', 'md5', 'sha1', 'sha256', 'email']);
/** The kinds of observable. */
export type ObservableType = z.infer<typeof ObservableType>;

/**
 * One indicator with its provenance: the first field it was found in (a trusted one when any is) and
 * whether any field that holds it is trusted.
 */
export const Observable = z.object({ type: ObservableType, value: z.string().min(1), ...Provenance.shape });
/** One indicator with its provenance. */
export type Observable = z.infer<typeof Observable>;

/**
 * Text from the alert that an attacker may have written (log lines, command lines, e-mail subjects, file
 * paths, titles filled in from log fields). It reaches humans and models only through this object, so
 * prompts and case pages can fence it as untrusted data; it never feeds `title`/`description`.
 */
export const UntrustedText = z.object({
  /** The raw log or message text the detection fired on. */
  description: z.string().optional(),
  /** A vendor title with placeholders filled from log fields (Splunk `$user$`). */
  title: z.string().optional(),
  commandLine: z.string().optional(),
  subject: z.string().optional(),
  filePath: z.string().optional(),
});
/** Text from the alert that an attacker may have written. */
export type UntrustedText = z.infer<typeof UntrustedText>;

/**
 * What kind of detection this is, from the vendor's own category/type/tactic/product fields. Risk scoring
 * reads it (a canary or decoy touch is high-signal by construction).
 */
export const DetectionType = z.enum([
  'canary',
  'malware',
  'phishing',
  'credential_theft',
  'exfiltration',
  'privilege_escalation',
  'defense_evasion',
  'intrusion',
  'execution',
  'reconnaissance',
  'suspicious_login',
  'file_change',
  'misconfiguration',
  'audit_event',
  'unknown',
]);
/** What kind of detection this is. */
export type DetectionType = z.infer<typeof DetectionType>;

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
  /** The vendor's title for the detection (rule or finding name); never empty. */
  title: z.string().min(1),
  /** The vendor's own description of the detection; log text goes to `untrusted.description`. */
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
  /** What kind of detection this is (see {@link DetectionType}). */
  detectionType: DetectionType,
  /** Hosts/devices and users, each with its provenance. */
  assets: z.object({ hosts: z.array(AlertHost), users: z.array(AlertUser) }),
  /** Every indicator by type (trusted and untrusted alike: for lookups, never for containment scope). */
  indicators: AlertIndicators,
  /** The same indicators with provenance; `inScopeTargets` draws only the trusted ones. */
  observables: z.array(Observable),
  /** Attacker-writable text, kept apart from the vendor's own title and description. */
  untrusted: UntrustedText,
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
  warning: 'medium',
  hazardous: 'medium',
  elevated: 'medium',
  high: 'high',
  major: 'high',
  severe: 'high',
  important: 'high',
  critical: 'critical',
  crit: 'critical',
  fatal: 'critical',
  emergency: 'critical',
  'very high': 'critical',
  very_high: 'critical',
};

/**
 * Maps a vendor's severity word (`High`, `CRITICAL`, `moderate`, `SEVERITY_HIGH`...) to a {@link Severity};
 * undefined when unknown. A vendor prefix such as `SEVERITY_` or `THREAT_LEVEL_` is ignored.
 */
export function severityFromWord(word: unknown): Severity | undefined {
  if (typeof word !== 'string') return undefined;
  const key = word
    .trim()
    .toLowerCase()
    .replace(/^(?:severity|threat_level|risk|level)[_ -]/, '');
  return SEVERITY_WORDS[key];
}

/**
 * Maps a numeric score to a {@link Severity} on the vendor's stated scale: `10` (0-10: 9+ critical, 7+
 * high, 4+ medium, 1+ low, as CVSS and GuardDuty band it), `100` (0-100, the same bands times ten), or
 * `auto` (0-10 up to 10, 0-100 above).
 */
export function severityFromScore(score: number, scale: 10 | 100 | 'auto' = 'auto'): Severity {
  const s = scale === 100 || (scale === 'auto' && score > 10) ? score / 10 : score;
  if (s >= 9) return 'critical';
  if (s >= 7) return 'high';
  if (s >= 4) return 'medium';
  if (s >= 1) return 'low';
  return 'informational';
}
