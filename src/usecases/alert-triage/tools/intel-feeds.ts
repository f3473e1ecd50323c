import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { domainToASCII } from 'node:url';

/**
 * Kinds of local threat-intel file Warden reads, each in its publisher's own format:
 *
 * - `ipsum`: stamparm/ipsum, `ip<TAB>number-of-blacklists` per line (a bare IP counts as listed).
 * - `urlhaus_hosts`: URLhaus host lists: one host or IP per line, hosts-file lines (`0.0.0.0 host`) or
 *   adblock lines (`||host^`).
 * - `urlhaus_urls`: URLhaus URL CSVs: a `url` column (abuse.ch CSV export), `host`,`path` columns
 *   (urlhaus-filter Splunk CSV), or a plain list of URLs.
 * - `maltrail`: maltrail IOC CSV `indicator,type,malware_family,reference[,...]` (types `domain`, `ip`,
 *   `ip:port`, `url`; URLs without scheme), or a maltrail trail file (one indicator per line).
 * - `hashes`: hash lists, e.g. ESET's SHA-256 CSV `sha256,family,...` or `sha256sum`-style lines; MD5,
 *   SHA-1 and SHA-256 are told apart by length.
 * - `benign`: known-benign domains (maltrail's whitelist format: one per line), the false-positive control.
 *
 * Lines starting with `#` (and `!` in host lists) are comments everywhere.
 */
export const FEED_KINDS = ['ipsum', 'urlhaus_hosts', 'urlhaus_urls', 'maltrail', 'hashes', 'benign'] as const;
/** A kind of local threat-intel file. */
export type FeedKind = (typeof FEED_KINDS)[number];

/** One feed file and the format it is read in. */
export interface FeedFile {
  kind: FeedKind;
  file: string;
}

/** One entry's provenance: the file it came from and what that file says about it. */
export interface FeedHit {
  kind: FeedKind;
  file: string;
  /** ipsum: number of blacklists; maltrail: malware family; hashes: family; urlhaus: undefined. */
  info?: string | number;
  /** maltrail `ip:port` entries: the port the indicator was seen on. */
  port?: string;
  /** maltrail domains also cover their subdomains, as maltrail itself matches them. */
  subdomains?: boolean;
}

/** What was read from one file. */
export interface FeedFileStats {
  kind: FeedKind;
  file: string;
  entries: number;
  /** Non-comment lines that held no usable indicator. */
  skipped: number;
}

/** In-memory maps of every configured feed, keyed by normalized indicator. */
export interface IntelIndex {
  ips: Map<string, FeedHit[]>;
  /** Domains and hosts (URLhaus hosts, maltrail domains). */
  hosts: Map<string, FeedHit[]>;
  /** URLs without scheme: `host[:port]/path?query`. */
  urls: Map<string, FeedHit[]>;
  /** Lower-case hex digests of any length. */
  hashes: Map<string, FeedHit[]>;
  /** Known-benign domains and addresses, with the file each came from. */
  benign: Map<string, string>;
  stats: { files: FeedFileStats[]; loadMs: number; heapDeltaBytes: number };
}

/** Normalizes a domain for lookup: lower case, punycode, no trailing dot; undefined when it is not one. */
export function normalizeDomain(domain: string): string | undefined {
  const ascii = domainToASCII(domain.trim().replace(/\.$/, ''));
  return ascii === '' ? undefined : ascii.toLowerCase();
}

/** Normalizes an IP for lookup: brackets and a `:port` suffix removed, IPv6 lower-cased. */
export function normalizeIp(ip: string): string {
  const trimmed = ip.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(trimmed);
  if (bracketed?.[1]) return bracketed[1].toLowerCase();
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(trimmed);
  return (v4port?.[1] ?? trimmed).toLowerCase();
}

/**
 * The lookup key of a URL: `host[:port]/path?query` with the scheme and fragment dropped (feeds list URLs
 * with or without one), the host lower-cased and punycoded as WHATWG URL does. Undefined when unparsable.
 */
export function urlKey(url: string): string | undefined {
  const trimmed = url.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  try {
    const parsed = new URL(withScheme);
    return parsed.hostname === '' ? undefined : `${parsed.host}${parsed.pathname}${parsed.search}`;
  } catch {
    return undefined;
  }
}

/**
 * Splits one CSV record (RFC 4180 quoting, no embedded newlines, which none of these feeds use); a
 * dependency for that is not worth its weight.
 */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      cells.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const HEX_DIGEST = /^(?:[a-f0-9]{32}|[a-f0-9]{40}|[a-f0-9]{64})$/i;

function add(map: Map<string, FeedHit[]>, key: string, hit: FeedHit): void {
  const hits = map.get(key);
  if (hits) hits.push(hit);
  else map.set(key, [hit]);
}

function addHost(index: IntelIndex, host: string, hit: FeedHit): boolean {
  const ip = normalizeIp(host);
  if (IPV4.test(ip) || ip.includes(':')) {
    add(index.ips, ip, hit);
    return true;
  }
  const domain = normalizeDomain(host);
  if (domain === undefined) return false;
  add(index.hosts, domain, hit);
  return true;
}

function addUrl(index: IntelIndex, url: string, hit: FeedHit): boolean {
  const key = urlKey(url);
  if (key === undefined) return false;
  add(index.urls, key, hit);
  return true;
}

/** Reads one line of a feed into the index; false when the line holds nothing usable. */
type LineReader = (cells: string[], line: string) => boolean;

function readerFor(kind: FeedKind, file: string, index: IntelIndex, header: string[] | undefined): LineReader {
  const base = path.basename(file);
  const column = (...names: string[]) => names.map((n) => header?.indexOf(n) ?? -1).find((i) => i >= 0) ?? -1;
  switch (kind) {
    case 'ipsum':
      return (_cells, line) => {
        const [ip = '', count] = line.split(/\s+/);
        if (!IPV4.test(ip) && !ip.includes(':')) return false;
        add(index.ips, normalizeIp(ip), { kind, file: base, ...(count ? { info: Number(count) } : {}) });
        return true;
      };
    case 'urlhaus_hosts':
      return (_cells, line) => {
        const adblock = /^\|\|([^^/]+)\^?/.exec(line)?.[1];
        const parts = line.split(/\s+/);
        // hosts-file lines ("0.0.0.0 evil.example") name the host second.
        const host = adblock ?? (parts.length > 1 && IPV4.test(parts[0] ?? '') ? parts[1] : parts[0]) ?? '';
        return addHost(index, host, { kind, file: base });
      };
    case 'urlhaus_urls': {
      const url = column('url');
      const host = column('host');
      const pathCol = column('path');
      return (cells) => {
        if (url >= 0) return addUrl(index, cells[url] ?? '', { kind, file: base });
        if (host >= 0)
          return addUrl(index, `${cells[host] ?? ''}${pathCol >= 0 ? (cells[pathCol] ?? '') : ''}`, {
            kind,
            file: base,
          });
        const first = cells.find((c) => /^https?:\/\//i.test(c));
        return first !== undefined && addUrl(index, first, { kind, file: base });
      };
    }
    case 'maltrail': {
      const indicator = Math.max(column('indicator', 'trail'), 0);
      const type = column('type');
      const family = column('malware_family', 'family', 'info');
      return (cells) => {
        const value = cells[indicator] ?? '';
        const info = (family >= 0 ? cells[family] : undefined) || base.replace(/\.[^.]+$/, '');
        const declared = type >= 0 ? cells[type] : undefined;
        const ipPort = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(value);
        if (ipPort?.[1]) {
          add(index.ips, ipPort[1], { kind, file: base, info, port: ipPort[2] });
          return true;
        }
        if (declared === 'url' || value.includes('/')) return addUrl(index, value, { kind, file: base, info });
        return addHost(index, value, { kind, file: base, info, subdomains: true });
      };
    }
    case 'hashes': {
      const hash = column('sha256', 'sha1', 'md5', 'hash');
      const family = column('eset_folder_family', 'family', 'malware_family');
      return (cells, line) => {
        const value = (hash >= 0 ? cells[hash] : line.split(/[\s,]+/)[0]) ?? '';
        if (!HEX_DIGEST.test(value)) return false;
        const info = (family >= 0 ? cells[family] : undefined) || undefined;
        add(index.hashes, value.toLowerCase(), { kind, file: base, ...(info ? { info } : {}) });
        return true;
      };
    }
    case 'benign':
      return (_cells, line) => {
        const entry = line.split(/\s+/)[0] ?? '';
        const key = IPV4.test(entry) || entry.includes(':') ? normalizeIp(entry) : normalizeDomain(entry);
        if (key === undefined) return false;
        index.benign.set(key, base);
        return true;
      };
  }
}

const HEADER_NAMES = new Set(['url', 'host', 'indicator', 'trail', 'sha256', 'sha1', 'md5', 'hash']);

async function readFeedFile(feed: FeedFile, index: IntelIndex): Promise<FeedFileStats> {
  const stats: FeedFileStats = { kind: feed.kind, file: feed.file, entries: 0, skipped: 0 };
  const lines = readline.createInterface({ input: fs.createReadStream(feed.file), crlfDelay: Infinity });
  let reader: LineReader | undefined;
  const isCsv = feed.kind === 'urlhaus_urls' || feed.kind === 'maltrail' || feed.kind === 'hashes';
  for await (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || (feed.kind === 'urlhaus_hosts' && line.startsWith('!'))) continue;
    const cells = isCsv ? splitCsvLine(line) : [line];
    if (reader === undefined) {
      const names = cells.map((c) => c.toLowerCase());
      const header = isCsv && names.some((n) => HEADER_NAMES.has(n)) ? names : undefined;
      reader = readerFor(feed.kind, feed.file, index, header);
      if (header) continue;
    }
    if (reader(cells, line)) stats.entries++;
    else stats.skipped++;
  }
  return stats;
}

/**
 * Reads feed files into one {@link IntelIndex}, streaming each file line by line. Load time and the heap
 * growth it caused are recorded in `stats`.
 *
 * @throws Error naming the file when one cannot be read (missing, unreadable).
 */
export async function loadIntelIndex(feeds: FeedFile[]): Promise<IntelIndex> {
  const started = performance.now();
  const heapBefore = process.memoryUsage().heapUsed;
  const index: IntelIndex = {
    ips: new Map(),
    hosts: new Map(),
    urls: new Map(),
    hashes: new Map(),
    benign: new Map(),
    stats: { files: [], loadMs: 0, heapDeltaBytes: 0 },
  };
  for (const feed of feeds) {
    try {
      index.stats.files.push(await readFeedFile(feed, index));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new Error(
        `intel feeds: cannot read the ${feed.kind} feed ${feed.file} (${code}); fix the path in WARDEN_INTEL_DIR / WARDEN_INTEL_FEEDS or restore the file`,
      );
    }
  }
  index.stats.loadMs = Math.round(performance.now() - started);
  index.stats.heapDeltaBytes = process.memoryUsage().heapUsed - heapBefore;
  return index;
}
