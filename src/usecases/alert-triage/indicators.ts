import net from 'node:net';
import { partialExtractIOC } from 'ioc-extractor';
import type { IOCKey } from 'ioc-extractor';
import type { AlertIndicators } from './alert';

/**
 * Bounds on how much of one alert is scanned for indicators. Extraction cost grows with the text scanned
 * (ioc-extractor needs up to ~20 ms per KiB on adversarial input such as "a.a.a.a..."), so a hostile or
 * oversized payload is cut rather than allowed to stall the webhook or the activity.
 */
export interface ExtractionLimits {
  /** A longer string is scanned up to this many characters. */
  maxStringChars: number;
  /** Characters scanned per alert, all strings together. */
  maxTotalChars: number;
  /** JSON nodes visited per alert. */
  maxNodes: number;
  /** Nesting depth followed; deeper values are not visited. */
  maxDepth: number;
}

/** Default {@link ExtractionLimits}: ample for real alerts (a few KiB), ~2 s worst case on adversarial input. */
export const DEFAULT_EXTRACTION_LIMITS: ExtractionLimits = {
  maxStringChars: 16_384,
  maxTotalChars: 131_072,
  maxNodes: 50_000,
  maxDepth: 64,
};

/** Strings gathered from a payload for extraction, and whether a limit cut the gathering short. */
export interface CollectedStrings {
  strings: string[];
  truncated: boolean;
}

/**
 * Gathers the string values of the given JSON values (depth-first, iteratively, so deep nesting cannot
 * overflow the stack), skipping properties whose key `skipKey` rejects, within `limits`.
 */
export function collectStrings(
  values: unknown[],
  skipKey: (key: string) => boolean = () => false,
  limits: ExtractionLimits = DEFAULT_EXTRACTION_LIMITS,
): CollectedStrings {
  const strings: string[] = [];
  let truncated = false;
  let total = 0;
  let nodes = 0;
  const stack: Array<{ value: unknown; depth: number }> = values.map((value) => ({ value, depth: 0 })).reverse();
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (++nodes > limits.maxNodes) {
      truncated = true;
      break;
    }
    if (typeof value === 'string') {
      if (value.length === 0) continue;
      const room = Math.min(limits.maxStringChars, limits.maxTotalChars - total);
      if (value.length > room) truncated = true;
      const kept = value.length > room ? value.slice(0, room) : value;
      strings.push(kept);
      total += kept.length + 1;
      if (total >= limits.maxTotalChars) {
        truncated = truncated || stack.length > 0;
        break;
      }
    } else if (typeof value === 'object' && value !== null) {
      if (depth >= limits.maxDepth) {
        truncated = true;
        continue;
      }
      const children = Array.isArray(value)
        ? (value as unknown[])
        : Object.entries(value as Record<string, unknown>)
            .filter(([key]) => !skipKey(key))
            .map(([, child]) => child);
      for (let i = children.length - 1; i >= 0; i--) stack.push({ value: children[i], depth: depth + 1 });
    }
  }
  return { strings, truncated };
}

// Identifiers (record, tenant, agent, process, detector ids; ARNs and CrowdStrike GCRNs, which embed
// account and customer ids) are hex or GUID strings that look like hashes but never are indicators.
const IDENTIFIER_KEY =
  /^(?:id|uuid|guid|arn)$|(?:^|_)(?:aid|cid|gcrn)$|(?:_id|Id|ID|_uuid|Uuid|UUID|_guid|Guid|GUID|Arn|ARN|_arn)$/;
// Vendors' console deep links point at the vendor, not the attacker; user agents carry version numbers
// shaped like IPv4 addresses (Chrome/124.0.0.0); OData type names (microsoft.graph.security.*) end in a TLD.
const NOT_EVIDENCE_KEY = /(?:^|_)link$|Link$|permalink$|user_?agent$|odata_?type$|^@odata\.type$/i;

/**
 * The key filter vendor parsers use: skips identifier fields, console deep links and user agents. The
 * generic parser skips nothing (every string value is scanned).
 */
export function isNonEvidenceKey(key: string): boolean {
  return IDENTIFIER_KEY.test(key) || NOT_EVIDENCE_KEY.test(key);
}

const EXTRACTED: IOCKey[] = ['ipv4s', 'ipv6s', 'domains', 'urls', 'emails', 'md5s', 'sha1s', 'sha256s'];
/** Addresses that never name an external party or an inventory asset: unspecified, broadcast, loopback. */
const DROPPED_IPV4 = /^(?:0\.0\.0\.0|255\.255\.255\.255|127\.\d+\.\d+\.\d+)$/;
/**
 * IPv6: `::/96` holds the unspecified and loopback addresses and the deprecated IPv4-compatible range (RFC
 * 4291 2.5.5.1) that no real traffic uses; ioc-extractor finds "addresses" there in ARNs (`iam::1234...`)
 * and scope operators (`AWS::EC2::SecurityGroup`).
 */
const DROPPED_IPV6 = new net.BlockList();
DROPPED_IPV6.addSubnet('::', 96, 'ipv6');
/** All-zero digests are vendors' "not computed" placeholder (CrowdStrike's SHA1HashData), never a file. */
const ZERO_HASH = /^0+$/;

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/**
 * Extracts indicators from strings with ioc-extractor: refangs first (`hxxp://`, `[.]`, `(dot)`), checks
 * domains against the IANA TLD list (strict mode), deduplicates and sorts; domains, emails and hashes are
 * lower-cased. Drops only what can never be an indicator: see {@link AlertIndicators}.
 */
export function extractIndicators(strings: string[]): AlertIndicators {
  // One newline-joined text: no indicator pattern spans a line break, and one pass is cheaper than many.
  const found = partialExtractIOC(strings.join('\n'), EXTRACTED, {
    strict: true,
    refang: true,
    punycode: false,
    sort: false,
  });
  const hashes = (values: string[] | undefined) =>
    sortedUnique((values ?? []).map((h) => h.toLowerCase()).filter((h) => !ZERO_HASH.test(h)));
  return {
    ips: sortedUnique([
      ...(found.ipv4s ?? []).filter((ip) => !DROPPED_IPV4.test(ip)),
      ...(found.ipv6s ?? [])
        .map((ip) => ip.toLowerCase())
        .filter((ip) => net.isIPv6(ip) && !DROPPED_IPV6.check(ip, 'ipv6')),
    ]),
    domains: sortedUnique((found.domains ?? []).map((d) => d.toLowerCase())),
    urls: sortedUnique(found.urls ?? []),
    hashes: { md5: hashes(found.md5s), sha1: hashes(found.sha1s), sha256: hashes(found.sha256s) },
    emails: sortedUnique((found.emails ?? []).map((e) => e.toLowerCase())),
  };
}
