import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AlertFormat, NormalizedAlert, RawAlertRef, UntrustedText } from './alert';
import { UNGRADED_SEVERITY } from './alert';
import { classifyDetection } from './detection-type';
import type { ExtractionLimits } from './indicators';
import {
  DEFAULT_EXTRACTION_LIMITS,
  collectStrings,
  extractObservables,
  indicatorsOf,
  isNonEvidenceKey,
} from './indicators';
import { cloudTrailParser } from './parsers/cloudtrail';
import { carbonBlackParser } from './parsers/carbon-black';
import { crowdstrikeParser } from './parsers/crowdstrike';
import { ecsParser } from './parsers/ecs';
import { entraParser } from './parsers/entra';
import { parseGeneric } from './parsers/generic';
import { googleWorkspaceParser } from './parsers/google-workspace';
import { defenderParser, graphParser } from './parsers/microsoft';
import { guardDutyParser } from './parsers/aws';
import { oktaParser } from './parsers/okta';
import type { AlertParser, ParsedAlert } from './parsers/parser';
import { emptyParse } from './parsers/parser';
import { proofpointParser } from './parsers/proofpoint';
import { sentinelOneParser } from './parsers/sentinelone';
import { splunkParser } from './parsers/splunk';
import { suricataParser } from './parsers/suricata';
import { wazuhParser } from './parsers/wazuh';
import { wizParser } from './parsers/wiz';
import { techniqueIds } from './raw-fields';

/** Shape detection order: the most distinctive shapes first; ECS (the loosest) last. */
const PARSERS: readonly AlertParser[] = [
  crowdstrikeParser,
  graphParser,
  defenderParser,
  entraParser,
  guardDutyParser,
  cloudTrailParser,
  oktaParser,
  googleWorkspaceParser,
  carbonBlackParser,
  sentinelOneParser,
  suricataParser,
  wazuhParser,
  splunkParser,
  wizParser,
  proofpointParser,
  ecsParser,
];

/** The vendor each source name stands for, used when a payload does not name its vendor. */
const SOURCE_VENDORS: Readonly<Record<string, string>> = {
  crowdstrike: 'CrowdStrike',
  defender: 'Microsoft',
  graph: 'Microsoft',
  entra: 'Microsoft',
  guardduty: 'AWS',
  cloudtrail: 'AWS',
  okta: 'Okta',
  gsuite: 'Google',
  carbonblack: 'VMware Carbon Black',
  sentinelone: 'SentinelOne',
  wazuh: 'Wazuh',
  suricata: 'OISF',
  splunk: 'Splunk',
  wiz: 'Wiz',
  proofpoint: 'Proofpoint',
  ecs: 'Elastic',
};

const MAX_TITLE_CHARS = 300;
const MAX_DESCRIPTION_CHARS = 4_000;
const MAX_ID_CHARS = 200;

/** Options for {@link normalizeAlert}. */
export interface NormalizeOptions {
  /** Used as `createdAt` when the payload carries no time. @default now */
  receivedAt?: Date;
  /** Bounds on indicator extraction. @default DEFAULT_EXTRACTION_LIMITS */
  limits?: ExtractionLimits;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The digest of a payload: sha256 over its canonical JSON (RFC 8785), so key order and whitespace do not
 * change it. A value canonical JSON cannot express (a cycle, a BigInt, nesting deeper than the stack)
 * is digested from a bounded walk of its string and number leaves instead; still stable for the same input.
 */
export function digestRawAlert(raw: unknown): RawAlertRef {
  try {
    const canonical = canonicalize(raw) ?? 'null';
    return { sha256: sha256(canonical), bytes: Buffer.byteLength(canonical, 'utf8') };
  } catch {
    const hash = createHash('sha256');
    let bytes = 0;
    const stack: unknown[] = [raw];
    const seen = new Set<object>();
    for (let nodes = 0; stack.length > 0 && nodes < 1_000_000; nodes++) {
      const value = stack.pop();
      if (typeof value === 'object' && value !== null) {
        if (seen.has(value)) continue;
        seen.add(value);
        const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
        for (const [key, child] of entries.reverse()) stack.push(key, child);
      } else {
        const leaf = `${typeof value}:${String(value)}\n`;
        hash.update(leaf);
        bytes += leaf.length;
      }
    }
    return { sha256: hash.digest('hex'), bytes };
  }
}

/**
 * Which parser reads a payload. The source name picks its parser when the payload has that parser's shape;
 * otherwise (including `generic` and unknown source names) the first parser whose shape matches wins, and
 * a payload no parser recognizes is `generic`. Never throws.
 */
export function detectAlertFormat(source: string, raw: unknown): AlertFormat {
  return pickParser(source.trim().toLowerCase(), raw)?.format ?? 'generic';
}

function pickParser(source: string, raw: unknown): AlertParser | undefined {
  const named = PARSERS.find((p) => p.format === source);
  if (named && safeMatches(named, raw)) return named;
  return PARSERS.find((p) => p !== named && safeMatches(p, raw));
}

function safeMatches(parser: AlertParser, raw: unknown): boolean {
  try {
    return parser.matches(raw);
  } catch {
    return false;
  }
}

function clip(value: string | undefined, max: number): string | undefined {
  return value !== undefined && value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

function clipUntrusted(text: UntrustedText | undefined): UntrustedText {
  const out: UntrustedText = {};
  for (const [key, value] of Object.entries(text ?? {}) as Array<[keyof UntrustedText, string | undefined]>) {
    const clipped = clip(value?.trim() || undefined, MAX_DESCRIPTION_CHARS);
    if (clipped !== undefined) out[key] = clipped;
  }
  return out;
}

/**
 * Normalizes one vendor alert into a {@link NormalizedAlert}. Never throws: a payload that no parser
 * recognizes, or that its parser cannot read, is read by the generic parser, which accepts any value
 * (and trusts none of its fields).
 *
 * `source` is the webhook route's source name (one of {@link AlertFormat}, or any other name, which then
 * also stands for the vendor when the payload names none). The result is a pure function of (source, raw)
 * except for `createdAt` of payloads without a time, which is `options.receivedAt`. The raw body is not
 * included, only its digest (`raw`).
 */
export function normalizeAlert(source: string, raw: unknown, options: NormalizeOptions = {}): NormalizedAlert {
  const sourceName = source.trim().toLowerCase() || 'generic';
  const digest = digestRawAlert(raw);
  const vendorHint = SOURCE_VENDORS[sourceName] ?? (sourceName === 'generic' ? undefined : sourceName);
  const parser = pickParser(sourceName, raw);
  let format: AlertFormat = 'generic';
  let parsed: ParsedAlert | undefined;
  if (parser) {
    try {
      parsed = parser.parse(raw as Record<string, unknown>);
      format = parser.format;
    } catch {
      parsed = undefined; // a payload shaped like the format but not readable: the generic parser takes it
    }
  }
  parsed ??= safeGeneric(raw, vendorHint);

  const extraSkip = parsed.skipKey;
  const skipKey = (key: string) => isNonEvidenceKey(key) || (extraSkip?.(key) ?? false);
  const { strings, truncated } = collectStrings(parsed.evidence, skipKey, options.limits ?? DEFAULT_EXTRACTION_LIMITS);
  const techniques =
    parsed.techniques.length > 0 || format !== 'generic' ? parsed.techniques : techniqueIds(strings.map((s) => s.text));
  // The alert's own hosts are assets, not indicators: a host's FQDN is not a domain to look up or block.
  const hostNames = new Set(parsed.hosts.map((h) => h.hostname.toLowerCase()));
  const extracted = extractObservables(strings);
  const observables = extracted.observables.filter((o) => o.type !== 'domain' || !hostNames.has(o.value));

  let alertId = parsed.alertId ?? `sha256-${digest.sha256.slice(0, 32)}`;
  if (alertId.length > MAX_ID_CHARS) alertId = `sha256-${sha256(alertId).slice(0, 32)}`;
  const vendor = parsed.vendor || 'unknown';
  const product = parsed.product || 'unknown';
  const title =
    clip(parsed.title, MAX_TITLE_CHARS) ??
    clip(
      [vendor === 'unknown' ? sourceName : vendor, product === 'unknown' ? undefined : product, parsed.category]
        .filter(Boolean)
        .join(' ') + ' alert',
      MAX_TITLE_CHARS,
    )!;
  return {
    source: sourceName,
    format,
    vendor,
    product,
    alertId,
    title,
    description: clip(parsed.description, MAX_DESCRIPTION_CHARS) ?? '',
    severity: parsed.severity,
    vendorSeverity: parsed.vendorSeverity,
    createdAt: parsed.createdAt ?? (options.receivedAt ?? new Date()).toISOString(),
    ...(parsed.category === undefined ? {} : { category: clip(parsed.category, MAX_TITLE_CHARS) }),
    tactics: parsed.tactics,
    techniques,
    detectionType: classifyDetection({
      title: parsed.title,
      category: parsed.category,
      product,
      vendor,
      tactics: parsed.tactics,
      hints: parsed.detectionHints ?? [],
    }),
    assets: { hosts: parsed.hosts, users: parsed.users },
    indicators: indicatorsOf(observables),
    observables,
    untrusted: clipUntrusted(parsed.untrusted),
    indicatorsTruncated: truncated || extracted.truncated,
    raw: digest,
  };
}

/** The generic parser, with a last-resort result should it ever fail: normalization must never throw. */
function safeGeneric(raw: unknown, vendorHint: string | undefined): ParsedAlert {
  try {
    return parseGeneric(raw, vendorHint);
  } catch {
    return { ...emptyParse(vendorHint ?? 'unknown'), severity: UNGRADED_SEVERITY };
  }
}
