import net from 'node:net';
import { parse as parseDomain } from 'tldts';

/**
 * The rules that decide whether a pattern match is an indicator, judged by the field it stands in and the
 * characters around it. A pattern alone invents indicators: `Chrome/124.0.0.0` holds an "IPv4", a
 * customer id is 32 hex digits like an MD5, `update.zip` and `eicar.com` end in real TLDs.
 */

const HASH_KEY = /md5|sha-?_?(?:1|256)|hash|checksum|digest|fingerprint/i;
const NOT_HASH_KEY = /^(?:event_hash|configstatehash|config_state_hash|type_key)$/i;

/** Whether a key names a file digest (`md5`, `SHA256HashData`, `filecontenthash`, `sha256_after`). */
export function isHashKey(key: string): boolean {
  return HASH_KEY.test(key) && !NOT_HASH_KEY.test(key);
}

// `(?<!pro)` keeps profile/profiles out; processes and images are files (ImageFileName, process_name).
const FILE_KEY = /(?<!pro)file|path|image|director|folder|attachment|process_?name|^exe|binary|module|driver|^threat$/i;

/** Whether a key names a file or path (`FileName`, `filedisplayname`, `ImageFileName`, `syscheck.path`). */
export function isFileKey(key: string): boolean {
  return FILE_KEY.test(key) && !isHashKey(key);
}

const VERSION_KEY = /version|build|user_?agent|^ua$|(?:^|_)ver$|semver/i;

/** Whether a key names a version or user agent, whose dotted numbers are never addresses. */
export function isVersionKey(key: string): boolean {
  return VERSION_KEY.test(key);
}

const DROPPED_IPV4 = /^(?:0\.0\.0\.0|255\.255\.255\.255|127\.\d+\.\d+\.\d+|\d+\.0\.0\.0)$/;
/**
 * IPv6: `::/96` holds the unspecified and loopback addresses and the deprecated IPv4-compatible range (RFC
 * 4291 2.5.5.1) that no real traffic uses; the pattern finds "addresses" there in ARNs (`iam::1234...`)
 * and scope operators (`AWS::EC2::SecurityGroup`).
 */
const DROPPED_IPV6 = new net.BlockList();
DROPPED_IPV6.addSubnet('::', 96, 'ipv6');

/** An address in canonical text (IPv6 lower-cased, brackets removed), or undefined when it is none. */
export function normalizeIpText(value: string): string | undefined {
  const bare = value.trim().replace(/^\[|\]$/g, '');
  const family = net.isIP(bare);
  if (family === 4) return DROPPED_IPV4.test(bare) ? undefined : bare;
  if (family === 6) {
    const lower = bare.toLowerCase();
    return DROPPED_IPV6.check(lower, 'ipv6') ? undefined : lower;
  }
  return undefined;
}

/** A text to search, with its lower-cased copy made once (the text may be every string of an alert). */
export interface Haystack {
  text: string;
  lower: string;
}

/** A haystack over `text`. */
export function haystack(text: string): Haystack {
  return { text, lower: text.toLowerCase() };
}

function occurrences(hay: Haystack, needle: string): number[] {
  const found: number[] = [];
  const lower = needle.toLowerCase();
  for (let i = hay.lower.indexOf(lower); i !== -1 && found.length < 50; i = hay.lower.indexOf(lower, i + 1))
    found.push(i);
  return found;
}

/**
 * The canonical address and the position where it stands alone, or undefined. An IPv4 must stand alone: not a run of a longer dotted number or version (`Chrome/124.0.0.0`,
 * `1.2.3.4.5`, `v10.0.1.2`, `version 4.1.2.3`). IPv6 matches only need to be real addresses.
 */
export function acceptIp(candidate: string, hay: Haystack): { ip: string; at: number } | undefined {
  const ip = normalizeIpText(candidate);
  if (ip === undefined) return undefined;
  const all = occurrences(hay, ip);
  if (net.isIPv6(ip)) return { ip, at: all[0] ?? 0 };
  const text = hay.text;
  const at = all.find((pos) => {
    const before = text.slice(Math.max(0, pos - 12), pos);
    const after = text.slice(pos + ip.length, pos + ip.length + 2);
    return (
      !/[A-Za-z0-9_./\\-]$/.test(before) &&
      !/(?:version|ver|build|rev|release)\s*[:=]?\s*$/i.test(before) &&
      !/^(?:\d|\.\d|-\d)/.test(after)
    );
  });
  return at === undefined ? undefined : { ip, at };
}

/**
 * Two-label names under TLDs that are also common file extensions (`update.zip`, `clip.mov`, `run.sh`,
 * `setup.py`): a file far more often than a site, so they count as domains only inside a URL.
 */
const FILE_EXTENSION_TLDS = new Set(['zip', 'mov', 'py', 'sh', 'pl', 'rs', 'md', 'ps', 'pm', 'run']);

/** Where a domain candidate stands. */
export interface DomainContext {
  /** The field names a file or path. */
  fileKey: boolean;
  /** File names seen in the alert's file fields (lower case). */
  fileNames: ReadonlySet<string>;
  /** The candidate is the host of a URL. */
  inUrl: boolean;
}

/**
 * Where a domain candidate stands as a domain (its position in the haystack), or undefined when it is
 * none: it must end in an ICANN public suffix with a registrable label
 * before it (tldts, Public Suffix List); outside a URL it must not stand in a file field, equal a file name
 * the alert names, sit inside a path (`\` or `/` before it), or be a file-extension-like two-label name.
 */
export function acceptDomain(candidate: string, hay: Haystack, context: DomainContext): number | undefined {
  const domain = candidate.toLowerCase().replace(/\.$/, '');
  const parsed = parseDomain(domain, { allowPrivateDomains: false });
  if (parsed.isIcann !== true || parsed.domain === null || parsed.isIp === true) return undefined;
  const all = occurrences(hay, domain);
  if (context.inUrl) return all[0] ?? 0;
  if (context.fileKey || context.fileNames.has(domain)) return undefined;
  const labels = domain.split('.');
  if (labels.length === 2 && FILE_EXTENSION_TLDS.has(labels[1]!)) return undefined;
  const text = hay.text;
  return all.find((at) => {
    const before = text.charAt(at - 1);
    const after = text.charAt(at + domain.length);
    const next = text.slice(at + domain.length, at + domain.length + 2);
    return !/[A-Za-z0-9_\\/.@-]/.test(before) && !/[A-Za-z0-9_\\-]/.test(after) && !/^\.[A-Za-z0-9]/.test(next);
  });
}

const HEX_RUN = /(?<![0-9A-Za-z])[0-9a-fA-F]{32,64}(?![0-9A-Za-z])/g;
const HASH_WORD = /md5|sha-?(?:1|256)|hash|checksum|digest/i;
const HASH_TYPES: Record<number, 'md5' | 'sha1' | 'sha256'> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };

/**
 * Hashes in a string: in a hash-named field, every hex run of MD5/SHA-1/SHA-256 length; elsewhere only a
 * run that text just before it names a hash (`SHA256: ...`, `md5=...`). All-zero and letterless runs are
 * never hashes (vendors' "not computed" placeholder; numeric ids).
 */
export function hashesInText(text: string, hashKey: boolean): Array<['md5' | 'sha1' | 'sha256', string]> {
  const found: Array<['md5' | 'sha1' | 'sha256', string]> = [];
  for (const match of text.matchAll(HEX_RUN)) {
    const value = match[0].toLowerCase();
    const type = HASH_TYPES[value.length];
    if (type === undefined || /^0+$/.test(value) || !/[a-f]/.test(value)) continue;
    const at = match.index;
    if (!hashKey && !HASH_WORD.test(text.slice(Math.max(0, at - 24), at))) continue;
    found.push([type, value]);
  }
  return found;
}
