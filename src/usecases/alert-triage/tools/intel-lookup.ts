import fs from 'node:fs';
import path from 'node:path';
import { isDomain, isEmail, isIPv4, isIPv6, isMD5, isSHA1, isSHA256, refang } from 'ioc-extractor';
import { z } from 'zod';
import type { FeedFile, FeedHit, FeedKind, IntelIndex } from './intel-feeds';
import { loadIntelIndex, normalizeDomain, normalizeIp, urlKey } from './intel-feeds';
import { defineTool } from '../../../tools/types';

/** Indicator types the intel tools understand. */
export const IndicatorType = z.enum(['ip', 'domain', 'url', 'md5', 'sha1', 'sha256', 'email']);
/** An indicator type. */
export type IndicatorType = z.infer<typeof IndicatorType>;

/**
 * An intel verdict: `malicious` (a feed lists this exact indicator), `suspicious` (weaker evidence: few
 * blacklists, a listed host behind a URL or e-mail address, or a listing that conflicts with the benign
 * list), `benign` (on the known-benign list with no strong listing), `unknown` (no feed knows it).
 */
export const IntelVerdict = z.enum(['malicious', 'suspicious', 'benign', 'unknown']);
/** An intel verdict. */
export type IntelVerdict = z.infer<typeof IntelVerdict>;

/** Arguments of `intel_lookup` and `intel_http_lookup`. Defanged input (`hxxp`, `[.]`) is refanged. */
export const IntelLookupInput = z.object({
  indicator: z.string().trim().min(1).max(2048).describe('IP, domain, URL, hash (MD5/SHA-1/SHA-256) or e-mail.'),
  type: IndicatorType.optional().describe('Indicator type; inferred from the value when omitted.'),
});
/** Arguments of the intel lookup tools. */
export type IntelLookupInput = z.infer<typeof IntelLookupInput>;

/** What the intel lookup tools return; `type` is `other` when the value is no recognizable indicator. */
export const IntelLookupResult = z.object({
  indicator: z.string(),
  type: z.union([IndicatorType, z.literal('other')]),
  verdict: IntelVerdict,
  sources: z.array(z.object({ feed: z.string(), detail: z.string() })),
});
/** What the intel lookup tools return. */
export type IntelLookupResult = z.infer<typeof IntelLookupResult>;

/** Infers the type of a (refanged) indicator; `other` when it is none of the supported types. */
export function classifyIndicator(value: string): IndicatorType | 'other' {
  const ip = normalizeIp(value);
  if (isIPv4(ip) || isIPv6(ip)) return 'ip';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'url';
  if (isSHA256(value)) return 'sha256';
  if (isSHA1(value)) return 'sha1';
  if (isMD5(value)) return 'md5';
  if (isEmail(value)) return 'email';
  if (isDomain(value)) return 'domain';
  // maltrail and URLhaus write URLs without a scheme: "host/path".
  if (value.includes('/') && isDomain(value.split('/')[0] ?? '')) return 'url';
  return 'other';
}

/** Options for {@link lookupIndicator}. */
export interface LookupOptions {
  /** ipsum entries on at least this many blacklists are malicious, fewer suspicious. @default 3 */
  ipsumMinLists?: number;
}

interface Finding {
  feed: FeedKind;
  detail: string;
  strong: boolean;
}

function describe(hit: FeedHit, minLists: number, via?: string): Finding {
  const where = via ? `, via ${via}` : '';
  switch (hit.kind) {
    case 'ipsum': {
      const lists = typeof hit.info === 'number' ? hit.info : undefined;
      return {
        feed: hit.kind,
        detail: `${lists === undefined ? 'listed' : `on ${lists} blacklists`} (${hit.file})`,
        strong: lists === undefined || lists >= minLists,
      };
    }
    case 'urlhaus_hosts':
      return { feed: hit.kind, detail: `host serving malware per URLhaus${where} (${hit.file})`, strong: true };
    case 'urlhaus_urls':
      return { feed: hit.kind, detail: `malware URL per URLhaus (${hit.file})`, strong: true };
    case 'maltrail':
      return {
        feed: hit.kind,
        detail: `${String(hit.info ?? 'malware')}${hit.port ? ` on port ${hit.port}` : ''}${where} (${hit.file})`,
        strong: true,
      };
    case 'hashes':
      return {
        feed: hit.kind,
        detail: `${hit.info === undefined ? 'listed' : String(hit.info)} (${hit.file})`,
        strong: true,
      };
    case 'benign':
      return { feed: hit.kind, detail: `known benign (${hit.file})`, strong: false };
  }
}

/** The domain and its parents, most specific first: a.b.example.com, b.example.com, example.com, com. */
function withParents(domain: string): string[] {
  const labels = domain.split('.');
  return labels.map((_, i) => labels.slice(i).join('.'));
}

function hostFindings(index: IntelIndex, host: string, minLists: number): { found: Finding[]; benign?: string } {
  const ip = normalizeIp(host);
  if (isIPv4(ip) || isIPv6(ip)) {
    const found = (index.ips.get(ip) ?? []).map((h) => describe(h, minLists));
    const file = index.benign.get(ip);
    return { found, ...(file ? { benign: `${ip} (${file})` } : {}) };
  }
  const domain = normalizeDomain(host);
  if (domain === undefined) return { found: [] };
  const found: Finding[] = [];
  let benign: string | undefined;
  for (const [i, candidate] of withParents(domain).entries()) {
    for (const hit of index.hosts.get(candidate) ?? [])
      if (i === 0 || hit.subdomains)
        found.push(describe(hit, minLists, i === 0 ? undefined : `parent domain ${candidate}`));
    const file = index.benign.get(candidate);
    if (benign === undefined && file) benign = `${candidate} (${file})`;
  }
  return { found, ...(benign ? { benign } : {}) };
}

/** `benignIsSameEntity`: the benign listing covers the indicator itself (not just a URL's host). */
function verdictOf(found: Finding[], benign: boolean, benignIsSameEntity: boolean): IntelVerdict {
  if (found.some((f) => f.strong)) return benign && benignIsSameEntity ? 'suspicious' : 'malicious';
  if (benign) return 'benign';
  return found.length > 0 ? 'suspicious' : 'unknown';
}

/**
 * Looks one indicator up in a loaded {@link IntelIndex}. Exact listings are strong evidence; the host of
 * a URL or the domain of an e-mail address being listed is weaker (`suspicious`); a domain matches the
 * benign list when it or a parent domain is listed there. A strong listing that the benign list
 * contradicts is `suspicious`, so a human or the agent sees the conflict instead of one side winning;
 * except for a URL listed exactly, which stays `malicious` on a benign host (malware on github.com).
 */
export function lookupIndicator(
  index: IntelIndex,
  indicator: string,
  type?: IndicatorType,
  options: LookupOptions = {},
): IntelLookupResult {
  const minLists = options.ipsumMinLists ?? 3;
  const value = refang(indicator.trim());
  const kind = type ?? classifyIndicator(value);
  let found: Finding[] = [];
  let benign: string | undefined;
  const weaken = (fs: Finding[], what: string) =>
    fs.map((f) => ({ ...f, strong: false, detail: `${what} ${f.detail}` }));
  switch (kind) {
    case 'ip':
    case 'domain':
      ({ found, benign } = hostFindings(index, value, minLists));
      break;
    case 'url': {
      const key = urlKey(value);
      if (key === undefined) break;
      const alternate = key.endsWith('/') ? key.slice(0, -1) : `${key}/`;
      found = [...(index.urls.get(key) ?? []), ...(index.urls.get(alternate) ?? [])].map((h) => describe(h, minLists));
      const host = key.split(/[/?]/)[0]!.replace(/:\d+$/, '');
      const onHost = hostFindings(index, host, minLists);
      found.push(...weaken(onHost.found, 'URL host:'));
      benign = onHost.benign;
      break;
    }
    case 'email': {
      const onDomain = hostFindings(index, value.slice(value.lastIndexOf('@') + 1), minLists);
      found = weaken(onDomain.found, 'e-mail domain:');
      benign = onDomain.benign;
      break;
    }
    case 'md5':
    case 'sha1':
    case 'sha256':
      found = (index.hashes.get(value.toLowerCase()) ?? []).map((h) => describe(h, minLists));
      break;
    case 'other':
      break;
  }
  const sources = found.map(({ feed, detail }) => ({ feed, detail }));
  if (benign) sources.push({ feed: 'benign', detail: `known benign: ${benign}` });
  const verdict = verdictOf(found, benign !== undefined, kind !== 'url');
  return { indicator: value, type: kind, verdict, sources };
}

const NAME_RULES: ReadonlyArray<readonly [RegExp, FeedKind]> = [
  [/benign|whitelist|allowlist/i, 'benign'],
  [/ipsum/i, 'ipsum'],
  [/urlhaus.*\.csv$/i, 'urlhaus_urls'],
  [/urlhaus|hostfile|hosts/i, 'urlhaus_hosts'],
  [/maltrail/i, 'maltrail'],
  [/sha256|sha1|md5|hash|eset/i, 'hashes'],
];

/**
 * The feed files in a directory, recognized by name (first rule wins): `*benign*|*whitelist*|*allowlist*`
 * → benign; `*ipsum*` → ipsum; `*urlhaus*.csv` → urlhaus_urls; `*urlhaus*|*hostfile*|*hosts*` →
 * urlhaus_hosts; `*maltrail*` → maltrail; `*sha256*|*sha1*|*md5*|*hash*|*eset*` → hashes. Only .txt,
 * .tsv, .csv and .list files are considered; others are returned as `ignored`.
 *
 * @throws Error when the directory cannot be read.
 */
export function discoverFeedFiles(dir: string): { feeds: FeedFile[]; ignored: string[] } {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (err) {
    throw new Error(
      `intel feeds: cannot read the directory ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}); set WARDEN_INTEL_DIR to a directory of feed files`,
    );
  }
  const feeds: FeedFile[] = [];
  const ignored: string[] = [];
  for (const name of names) {
    const kind = /\.(?:txt|tsv|csv|list)$/i.test(name) ? NAME_RULES.find(([re]) => re.test(name))?.[1] : undefined;
    if (kind) feeds.push({ kind, file: path.join(dir, name) });
    else ignored.push(name);
  }
  return { feeds, ignored };
}

/** Where `intel_lookup` reads its feeds: a directory (files recognized by name) and/or explicit files. */
export interface IntelLookupConfig extends LookupOptions {
  dir?: string;
  feeds?: FeedFile[];
}

// One index per process and feed set: workers build tools once, tests build many.
const indexes = new Map<string, Promise<IntelIndex>>();

/** The shared index for a feed set, loaded on first use; a failed load is retried by the next call. */
export function sharedIntelIndex(feeds: FeedFile[]): Promise<IntelIndex> {
  const key = JSON.stringify(feeds);
  let loading = indexes.get(key);
  if (!loading) {
    loading = loadIntelIndex(feeds);
    indexes.set(key, loading);
    loading.catch(() => indexes.delete(key));
  }
  return loading;
}

/**
 * Builds the `intel_lookup` tool: looks an indicator up in local feed files (ipsum, URLhaus, maltrail,
 * hash lists, a benign list; see {@link FEED_KINDS}). The files are listed now (a missing directory fails
 * the worker at start) and read on the first call, once per process; they are not re-read when they change.
 *
 * @throws Error when the directory cannot be read or no feed file is configured.
 */
export function createIntelLookupTool(config: IntelLookupConfig) {
  const discovered = config.dir ? discoverFeedFiles(config.dir) : { feeds: [], ignored: [] };
  const feeds = [...discovered.feeds, ...(config.feeds ?? [])];
  if (feeds.length === 0)
    throw new Error(
      `intel_lookup: no feed file found${config.dir ? ` in ${config.dir}` : ''}; set WARDEN_INTEL_DIR or WARDEN_INTEL_FEEDS`,
    );
  const kinds = [...new Set(feeds.map((f) => f.kind))].join(', ');
  return defineTool({
    name: 'intel_lookup',
    description:
      `Looks up an IP, domain, URL, file hash or e-mail address in local threat-intel feeds (${kinds}) and ` +
      'returns a verdict (malicious, suspicious, benign, unknown) with the listings behind it.',
    input: IntelLookupInput,
    output: IntelLookupResult,
    risk: 'read',
    capabilities: [],
    integration: 'intel_feeds',
    summarize: (args) => `intel lookup ${args.type ?? ''} ${args.indicator}`.replace(/\s+/g, ' '),
    async execute(args, ctx) {
      const first = !indexes.has(JSON.stringify(feeds));
      const index = await sharedIntelIndex(feeds);
      if (first)
        ctx.logger.info({ tool: 'intel_lookup', ...index.stats, ignored: discovered.ignored }, 'intel feeds loaded');
      return lookupIndicator(index, args.indicator, args.type, config);
    },
  });
}
