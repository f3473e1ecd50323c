import type { AlertHost, AlertUser, Observable } from './alert';

/*
 * Pure and workflow-safe (no Node built-ins, no I/O): policy may evaluate it inside workflow code.
 */

/** The kinds of target a containment or lookup can name. */
export const TARGET_KINDS = ['host', 'deviceId', 'user', 'ip', 'domain', 'sha256', 'md5', 'url'] as const;
/** A kind of target. */
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Targets by kind, each list normalized ({@link normalizeTarget}), deduplicated and sorted. */
export type AlertTargets = Record<TargetKind, string[]>;

/** The parts of a normalized alert that name targets. */
export interface TargetSource {
  assets: { hosts: AlertHost[]; users: AlertUser[] };
  observables: Observable[];
}

function normalizeIpv4(value: string): string | undefined {
  const parts = value.split('.');
  if (parts.length !== 4) return undefined;
  // Leading zeros are refused, not guessed: "010" is octal to some parsers and decimal to others.
  if (!parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.join('.');
}

function normalizeIpv6(value: string): string | undefined {
  let text = value.toLowerCase();
  if (text.includes('%')) return undefined;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const ipv4 = normalizeIpv4(v4[1]!);
    if (ipv4 === undefined) return undefined;
    const [a, b, c, d] = ipv4.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const short = groups.map((g) => g.replace(/^0+(?=.)/, ''));
  // RFC 5952: compress the longest run (of two or more) of zero groups, the first one on a tie.
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (short[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && short[j] === '0') j++;
    if (j - i > best.length && j - i >= 2) best = { at: i, length: j - i };
    i = j;
  }
  if (best.at === -1) return short.join(':');
  return `${short.slice(0, best.at).join(':')}::${short.slice(best.at + best.length).join(':')}`;
}

/** An IP address in canonical text (IPv4 dotted decimal, IPv6 RFC 5952), or undefined when it is none. */
export function normalizeIp(value: string): string | undefined {
  const bare = value.trim().replace(/^\[(.*)\]$/, '$1');
  if (bare.includes(':')) return normalizeIpv6(bare);
  return normalizeIpv4(bare);
}

const DOMAIN = /^(?=.{1,253}$)(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}\p{N}-]{2,63}$/u;

function normalizeDomain(value: string): string | undefined {
  const d = value.trim().normalize('NFC').toLowerCase().replace(/\.+$/, '');
  return DOMAIN.test(d) ? d : undefined;
}

function normalizeUrl(value: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#\s]+)([^#\s]*)(?:#.*)?$/i.exec(value.trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  let authority = m[2]!.toLowerCase().replace(/\.(?=:\d+$|$)/, '');
  if ((scheme === 'http' && authority.endsWith(':80')) || (scheme === 'https' && authority.endsWith(':443')))
    authority = authority.replace(/:\d+$/, '');
  return `${scheme}://${authority}${m[3] || '/'}`;
}

/**
 * A target value in the form scope comparisons use, or undefined when the value is not of that kind:
 * hosts, device ids, users and domains lower-cased and trimmed (hosts and domains without trailing dots,
 * a host that is an address in canonical IP form), users as `name`, `domain\name` or a UPN, addresses in
 * canonical form, hashes as lower-case hex of their length, URLs with scheme and host lower-cased, default
 * port and fragment dropped. Unicode domains are compared in NFC, not punycode.
 */
export function normalizeTarget(kind: TargetKind, value: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (v === '' || v.length > 2048) return undefined;
  switch (kind) {
    case 'host': {
      const ip = normalizeIp(v);
      if (ip !== undefined) return ip;
      const host = v.toLowerCase().replace(/\.+$/, '');
      return /^[\p{L}\p{N}_][\p{L}\p{N}_.-]*$/u.test(host) ? host : undefined;
    }
    case 'deviceId':
      return /^[\w:.@{}-]+$/.test(v) ? v.toLowerCase() : undefined;
    case 'user': {
      const user = v.toLowerCase();
      return /[\s/]/.test(user) && !user.includes('\\') ? undefined : user;
    }
    case 'ip':
      return normalizeIp(v);
    case 'domain':
      return normalizeDomain(v);
    case 'sha256':
      return /^[0-9a-f]{64}$/i.test(v) ? v.toLowerCase() : undefined;
    case 'md5':
      return /^[0-9a-f]{32}$/i.test(v) ? v.toLowerCase() : undefined;
    case 'url':
      return normalizeUrl(v);
  }
}

/** The forms a user is known by: its name, `domain\name` and `name@domain` (for a DNS domain). */
function userForms(user: AlertUser): string[] {
  const name = user.name.toLowerCase();
  const forms = [name];
  const domain = user.domain?.toLowerCase();
  if (domain && !name.includes('@')) {
    forms.push(`${domain}\\${name}`);
    if (domain.includes('.')) forms.push(`${name}@${domain}`);
  }
  return forms;
}

function collect(source: TargetSource, include: (entity: { trusted: boolean }) => boolean): AlertTargets {
  const sets = Object.fromEntries(TARGET_KINDS.map((k) => [k, new Set<string>()])) as Record<TargetKind, Set<string>>;
  const add = (kind: TargetKind, value: string | undefined) => {
    const normalized = value === undefined ? undefined : normalizeTarget(kind, value);
    if (normalized !== undefined) sets[kind].add(normalized);
  };
  for (const host of source.assets.hosts.filter(include)) {
    add('host', host.hostname);
    if (host.ip !== undefined) {
      add('host', host.ip);
      add('ip', host.ip);
    }
    if (host.deviceId !== undefined) add('deviceId', host.deviceId);
  }
  for (const user of source.assets.users.filter(include)) for (const form of userForms(user)) add('user', form);
  for (const o of source.observables.filter(include)) {
    if (o.type === 'ip' || o.type === 'domain' || o.type === 'url' || o.type === 'sha256' || o.type === 'md5')
      add(o.type, o.value);
  }
  return Object.fromEntries(TARGET_KINDS.map((k) => [k, [...sets[k]].sort()])) as AlertTargets;
}

/**
 * The targets an automatic action may name for this alert: hosts (names and addresses), device ids, users,
 * IPs, domains, SHA-256/MD5 hashes and URLs drawn only from fields the vendor's schema makes trustworthy
 * (see `Provenance`). Anything else the alert names, an attacker may have written. Pure; safe in workflow
 * code. Pass the result to {@link isInScope}.
 */
export function inScopeTargets(alert: TargetSource): AlertTargets {
  return collect(alert, (e) => e.trusted);
}

/**
 * Every target the alert names, trusted or not: for telling "named in the alert but only in attacker-
 * writable text" (route to a human) from "not named at all" (deny).
 */
export function namedTargets(alert: TargetSource): AlertTargets {
  return collect(alert, () => true);
}

/**
 * Whether `value` is one of `targets` of `kind`, after {@link normalizeTarget}. A bare host name matches
 * the first label of a listed FQDN and a listed bare name matches an FQDN starting with it (inventories
 * and EDRs disagree on qualification); two different FQDNs never match. A bare user name matches a listed
 * `domain\name`; a qualified one must match exactly. A value that does not normalize is never in scope.
 */
export function isInScope(targets: AlertTargets, kind: TargetKind, value: string): boolean {
  const wanted = normalizeTarget(kind, value);
  if (wanted === undefined) return false;
  const list = targets[kind] ?? [];
  if (list.includes(wanted)) return true;
  if (kind === 'host' && normalizeIp(wanted) === undefined) {
    const [label] = wanted.split('.');
    return list.some((t) => {
      if (normalizeIp(t) !== undefined) return false;
      if (!wanted.includes('.')) return t.split('.')[0] === wanted;
      return !t.includes('.') && t === label;
    });
  }
  return false;
}
