// Over 300 lines on purpose: extraction bounds, context rules and the single scanning pass are one
// algorithm; splitting them would scatter the rules that keep versions, file names and ids out of indicators.
import { partialExtractIOC, refang } from 'ioc-extractor';
import type { IOCKey } from 'ioc-extractor';
import type { AlertIndicators, Observable, ObservableType } from './alert';
import {
  acceptDomain,
  acceptIp,
  hashesInText,
  haystack,
  isFileKey,
  isHashKey,
  isVersionKey,
  normalizeIpText,
} from './indicator-context';
import type { Evidence } from './parsers/parser';

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

/** One string gathered from the payload: its path, its own key, its text and whether its field is trusted. */
export interface CollectedString {
  field: string;
  key: string;
  text: string;
  trusted: boolean;
}

/** Strings gathered from a payload for extraction, and whether a limit cut the gathering short. */
export interface CollectedStrings {
  strings: CollectedString[];
  truncated: boolean;
}

/**
 * Keys whose values are free text that whoever caused the event wrote (command lines, log lines, message
 * bodies and subjects, queries, user agents, descriptions): untrusted even inside a trusted subtree.
 */
const FREE_TEXT_KEY =
  /command_?line|cmd_?line|^(?:cmd|command|args?|arguments)$|message|body|^_?raw$|orig_raw|full_log|subject|query|user_?agent|referr?er|header|description|^details?$|summary|comment|note|text$|^log$|request_?param|response_?elem/i;

function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const safe = /^[A-Za-z_@$][\w@$-]*$/.test(key) ? key : JSON.stringify(key);
  return parent === '' ? safe : `${parent}.${safe}`;
}

/**
 * Gathers the string values of the evidence subtrees (depth-first, iteratively, so deep nesting cannot
 * overflow the stack), skipping properties whose key `skipKey` rejects, within `limits`. Each string keeps
 * its path and trust: its evidence entry's trust, withdrawn under a free-text key.
 */
export function collectStrings(
  evidence: Evidence[],
  skipKey: (key: string) => boolean = () => false,
  limits: ExtractionLimits = DEFAULT_EXTRACTION_LIMITS,
): CollectedStrings {
  const strings: CollectedString[] = [];
  let truncated = false;
  let total = 0;
  let nodes = 0;
  // A frame's path and trust are settled lazily (`pending`): most children of a huge object are never
  // emitted once a limit is hit, and building paths for them all would dominate the cost.
  type Frame = {
    value: unknown;
    depth: number;
    field: string;
    key: string;
    trusted: boolean;
    pending?: string | number;
  };
  const settle = (frame: Frame): Frame => {
    if (frame.pending === undefined) return frame;
    const key = frame.pending;
    const ownKey = typeof key === 'number' ? frame.key : key;
    return {
      value: frame.value,
      depth: frame.depth,
      field: childPath(frame.field, key),
      key: ownKey,
      trusted: frame.trusted && !FREE_TEXT_KEY.test(ownKey),
    };
  };
  const stack: Frame[] = evidence
    .map((e) => ({ value: e.value, depth: 0, field: e.field, key: e.field.split('.').pop() ?? '', trusted: e.trusted }))
    .reverse();
  while (stack.length > 0) {
    const popped = stack.pop()!;
    const { value, depth } = popped;
    if (++nodes > limits.maxNodes) {
      truncated = true;
      break;
    }
    if (typeof value === 'string') {
      if (value.length === 0) continue;
      const frame = settle(popped);
      const room = Math.min(limits.maxStringChars, limits.maxTotalChars - total);
      if (value.length > room) truncated = true;
      const kept = value.length > room ? value.slice(0, room) : value;
      strings.push({ field: frame.field || '$', key: frame.key, text: kept, trusted: frame.trusted });
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
      const frame = settle(popped);
      // No more children than the node budget can still visit.
      const room = limits.maxNodes - nodes;
      const all = Array.isArray(value) ? (value as unknown[]) : Object.keys(value);
      if (all.length > room) truncated = true;
      const children: Array<[string | number, unknown]> = Array.isArray(value)
        ? (value as unknown[]).slice(0, room).map((v, i) => [i, v])
        : (all as string[])
            .slice(0, room)
            .filter((key) => !skipKey(key))
            .map((key) => [key, (value as Record<string, unknown>)[key]]);
      for (let i = children.length - 1; i >= 0; i--) {
        const [key, child] = children[i]!;
        stack.push({
          value: child,
          depth: depth + 1,
          field: frame.field,
          key: frame.key,
          trusted: frame.trusted,
          pending: key,
        });
      }
    }
  }
  return { strings, truncated };
}

// Identifiers (record, tenant, agent, process, detector ids; ARNs and CrowdStrike GCRNs, which embed
// account and customer ids) are hex or GUID strings that look like hashes but never are indicators.
const IDENTIFIER_KEY =
  /^(?:id|uuid|guid|arn|cid|aid|customerIDString|customer_?id|org_?key|tenant)$|(?:^|_)(?:aid|cid|gcrn)$|(?:_id|Id|ID|_uuid|Uuid|UUID|_guid|Guid|GUID|Arn|ARN|_arn|_key|Key)$/;
// Vendors' console deep links point at the vendor, not the attacker; user agents carry version numbers
// shaped like IPv4 addresses (Chrome/124.0.0.0); OData type names (microsoft.graph.security.*) end in a TLD.
const NOT_EVIDENCE_KEY =
  /(?:^|_)link$|Link$|permalink$|user_?agent$|odata_?type$|^@odata\.type$|(?:console|portal|web|threat|alert|incident|detection|provider|investigation|tool|deep)_?url$/i;

/** The key filter for scanning: skips identifier fields, console deep links and user agents. */
export function isNonEvidenceKey(key: string): boolean {
  return IDENTIFIER_KEY.test(key) || NOT_EVIDENCE_KEY.test(key);
}

const EXTRACTED: IOCKey[] = ['ipv4s', 'ipv6s', 'domains', 'urls', 'emails'];
/** Cheap pre-filter: a string with none of these characters holds no IP, domain, URL or e-mail. */
const MAY_HOLD_NETWORK_IOC = /[.:@[]|\(dot\)/;

/** Adds one observable, keeping the first trusted field (else the first field) and any-trusted. */
class ObservableSet {
  private readonly byKey = new Map<string, Observable>();
  add(type: ObservableType, value: string, field: string, isTrusted: boolean): void {
    const key = `${type}\u0000${value}`;
    const seen = this.byKey.get(key);
    if (!seen) this.byKey.set(key, { type, value, field, trusted: isTrusted });
    else if (!seen.trusted && isTrusted) this.byKey.set(key, { type, value, field, trusted: true });
  }
  list(): Observable[] {
    return [...this.byKey.values()].sort((a, b) =>
      a.type === b.type ? (a.value < b.value ? -1 : a.value > b.value ? 1 : 0) : a.type < b.type ? -1 : 1,
    );
  }
}

function hostOfUrl(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '') || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Extracts observables from collected strings, each with the field it came from and its trust. Uses
 * ioc-extractor for the patterns (refanging `hxxp`, `[.]`, `(dot)` first; IANA TLDs) and then judges each
 * candidate in its context (see `indicator-context.ts`): no address out of a version string, no file name
 * as a domain, hashes only from hash-named fields or text that names them a hash. `truncated` is true when
 * more than MAX_CANDIDATES_PER_TYPE candidates of one kind stood in one context class and the rest were cut.
 */
export function extractObservables(strings: CollectedString[]): { observables: Observable[]; truncated: boolean } {
  const out = new ObservableSet();
  // File names seen in file fields: the same token elsewhere (a title, a message) is that file, not a domain.
  const fileNames = new Set<string>();
  for (const s of strings) {
    if (isFileKey(s.key)) for (const part of s.text.split(/[\\/\s"']+/)) if (part) fileNames.add(part.toLowerCase());
  }
  // Strings of one context class (trust, file field, version field) are scanned as one newline-joined text:
  // no pattern spans a line break, one pass is far cheaper than thousands, and offsets map hits to fields.
  const groups = new Map<string, Group>();
  for (const s of strings) {
    const plain = DEFANGED.test(s.text) ? refang(s.text) : s.text;
    const hashKey = isHashKey(s.key);
    for (const [type, value] of hashesInText(plain, hashKey)) out.add(type, value, s.field, s.trusted);
    if (hashKey || !MAY_HOLD_NETWORK_IOC.test(plain)) continue;
    const fileKey = isFileKey(s.key);
    const versionKey = isVersionKey(s.key);
    const id = `${s.trusted}|${fileKey}|${versionKey}`;
    let group = groups.get(id);
    if (!group)
      groups.set(
        id,
        (group = { trusted: s.trusted, fileKey, versionKey, starts: [], fields: [], parts: [], length: 0 }),
      );
    group.starts.push(group.length);
    group.fields.push(s.field);
    group.parts.push(plain);
    group.length += plain.length + 1;
  }
  const flag = { truncated: false };
  for (const group of groups.values()) scanGroup(group, fileNames, out, flag);
  return { observables: out.list(), truncated: flag.truncated };
}

interface Group {
  trusted: boolean;
  fileKey: boolean;
  versionKey: boolean;
  starts: number[];
  fields: string[];
  parts: string[];
  length: number;
}

/** Defanging marks (`hxxp`, `[.]`, `(dot)`, `{.}`); strings without any skip the refang pass. */
const DEFANGED = /hxxp|fxp|\[|\(|\{|\\\./i;

function fieldAt(group: Group, position: number): string {
  let lo = 0;
  let hi = group.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (group.starts[mid]! <= position) lo = mid;
    else hi = mid - 1;
  }
  return group.fields[lo] ?? group.fields[0]!;
}

/**
 * Distinct candidates judged per type and context class. Real alerts hold a handful; a payload with
 * thousands is adversarial or a data dump, and judging each (a search of the whole text) would stall.
 */
export const MAX_CANDIDATES_PER_TYPE = 500;

function capped<T>(values: T[] | undefined, flag: { truncated: boolean }): T[] {
  const list = values ?? [];
  if (list.length <= MAX_CANDIDATES_PER_TYPE) return list;
  flag.truncated = true;
  return list.slice(0, MAX_CANDIDATES_PER_TYPE);
}

function scanGroup(
  group: Group,
  fileNames: ReadonlySet<string>,
  out: ObservableSet,
  flag: { truncated: boolean },
): void {
  const hay = haystack(group.parts.join('\n'));
  const raw = partialExtractIOC(hay.text, EXTRACTED, { strict: true, refang: false, punycode: false, sort: false });
  const found = {
    emails: capped(raw.emails, flag),
    urls: capped(raw.urls, flag),
    ipv4s: capped(raw.ipv4s, flag),
    ipv6s: capped(raw.ipv6s, flag),
    domains: capped(raw.domains, flag),
  };
  const at = (value: string) => Math.max(0, hay.lower.indexOf(value.toLowerCase()));
  const add = (type: ObservableType, value: string, position: number) =>
    out.add(type, value, fieldAt(group, position), group.trusted);
  for (const email of found.emails ?? []) add('email', email.toLowerCase(), at(email));
  for (const url of group.fileKey ? [] : (found.urls ?? [])) {
    const position = at(url);
    add('url', url, position);
    const host = hostOfUrl(url);
    if (host === undefined) continue;
    const ip = normalizeIpText(host);
    if (ip !== undefined) add('ip', ip, position);
    else if (acceptDomain(host, hay, { fileKey: false, fileNames: new Set(), inUrl: true }) !== undefined)
      add('domain', host.toLowerCase(), position);
  }
  if (!group.versionKey && !group.fileKey) {
    for (const candidate of [...(found.ipv4s ?? []), ...(found.ipv6s ?? [])]) {
      const accepted = acceptIp(candidate, hay);
      if (accepted !== undefined) add('ip', accepted.ip, accepted.at);
    }
  }
  for (const domain of found.domains ?? []) {
    const position = acceptDomain(domain, hay, { fileKey: group.fileKey, fileNames, inUrl: false });
    if (position !== undefined) add('domain', domain.toLowerCase(), position);
  }
}

/** The observables grouped by type, as the playbook reads them (`indicators.ips`, `indicators.hashes.sha256`...). */
export function indicatorsOf(observables: Observable[]): AlertIndicators {
  const of = (type: ObservableType) => observables.filter((o) => o.type === type).map((o) => o.value);
  return {
    ips: of('ip'),
    domains: of('domain'),
    urls: of('url'),
    hashes: { md5: of('md5'), sha1: of('sha1'), sha256: of('sha256') },
    emails: of('email'),
  };
}

/**
 * Extracts indicators from loose strings (all treated as untrusted free text with no field name): the
 * same rules as alert normalization, for callers that hold text rather than a payload.
 */
export function extractIndicators(strings: string[]): AlertIndicators {
  return indicatorsOf(
    extractObservables(strings.map((text) => ({ field: 'text', key: 'text', text, trusted: false }))).observables,
  );
}
