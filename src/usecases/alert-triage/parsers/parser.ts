import net from 'node:net';
import type { AlertFormat, AlertHost, AlertUser, Severity } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { text } from '../raw-fields';

/**
 * What a format parser reads out of one payload; `normalizeAlert` adds the source, the digest, the
 * fallback id and the indicators (extracted from `evidence`).
 */
export interface ParsedAlert {
  vendor: string;
  product: string;
  /** The vendor's own id; undefined when the payload has none (a digest-based id is used then). */
  alertId: string | undefined;
  title: string | undefined;
  description: string | undefined;
  severity: Severity;
  vendorSeverity: string | number | null;
  /** ISO 8601 UTC, or undefined when the payload carries no time. */
  createdAt: string | undefined;
  category: string | undefined;
  tactics: string[];
  techniques: string[];
  hosts: AlertHost[];
  users: AlertUser[];
  /** Values (subtrees or strings) scanned for indicators, with identifier-like keys skipped. */
  evidence: unknown[];
  /** Extra keys to skip while scanning `evidence` (vendor-internal fields that look like indicators). */
  skipKey?: (key: string) => boolean;
}

/** One vendor format: recognizes its payload shape and reads it. */
export interface AlertParser {
  format: AlertFormat;
  /** Whether the payload has this format's shape; must not throw. */
  matches(raw: unknown): raw is JsonRecord;
  /** Reads a payload `matches` accepted. May throw on a malformed payload; the caller then falls back to generic. */
  parse(raw: JsonRecord): ParsedAlert;
}

/** Splits `DOMAIN\user` into name and domain; a UPN (`user@domain`) stays whole with its domain beside it. */
export function userOf(name: unknown, domain?: unknown): AlertUser | undefined {
  const raw = text(name);
  if (raw === undefined) return undefined;
  const explicitDomain = text(domain);
  const backslash = raw.indexOf('\\');
  if (backslash > 0 && backslash < raw.length - 1)
    return { name: raw.slice(backslash + 1), domain: explicitDomain ?? raw.slice(0, backslash) };
  const at = raw.lastIndexOf('@');
  const upnDomain = at > 0 && at < raw.length - 1 ? raw.slice(at + 1) : undefined;
  const d = explicitDomain ?? upnDomain;
  return d === undefined ? { name: raw } : { name: raw, domain: d };
}

/** A host from a name and/or address (the address stands in for a missing name); undefined with neither. */
export function hostOf(hostname: unknown, ip?: unknown, os?: unknown): AlertHost | undefined {
  const name = text(hostname);
  const address = text(ip);
  const system = text(os);
  const id = name ?? address;
  if (id === undefined) return undefined;
  return {
    hostname: id,
    ...(address === undefined ? {} : { ip: address }),
    ...(system === undefined ? {} : { os: system }),
  };
}

/** Drops undefined entries and duplicates (same name, case-insensitively), keeping the most detailed one. */
export function uniqueHosts(hosts: Array<AlertHost | undefined>): AlertHost[] {
  const byName = new Map<string, AlertHost>();
  for (const host of hosts) {
    if (!host) continue;
    const key = host.hostname.toLowerCase();
    const seen = byName.get(key);
    byName.set(key, seen ? { ...host, ...seen, ip: seen.ip ?? host.ip, os: seen.os ?? host.os } : host);
  }
  return [...byName.values()].map((h) => JSON.parse(JSON.stringify(h)) as AlertHost);
}

/** Drops undefined entries and duplicates (same name and domain, case-insensitively). */
export function uniqueUsers(users: Array<AlertUser | undefined>): AlertUser[] {
  const byKey = new Map<string, AlertUser>();
  for (const user of users) {
    if (!user) continue;
    const key = `${user.name.toLowerCase()}|${(user.domain ?? '').toLowerCase()}`;
    if (!byKey.has(key)) byKey.set(key, user);
  }
  return [...byKey.values()];
}

/**
 * Whether an address is internal (RFC 1918, CGNAT, link-local, IPv6 ULA/link-local): the side of a network
 * alert that is likely an asset of ours rather than a remote party.
 */
export function isInternalAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 0) return false;
  return INTERNAL.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

const INTERNAL = new net.BlockList();
INTERNAL.addSubnet('10.0.0.0', 8, 'ipv4');
INTERNAL.addSubnet('172.16.0.0', 12, 'ipv4');
INTERNAL.addSubnet('192.168.0.0', 16, 'ipv4');
INTERNAL.addSubnet('100.64.0.0', 10, 'ipv4');
INTERNAL.addSubnet('169.254.0.0', 16, 'ipv4');
INTERNAL.addSubnet('fc00::', 7, 'ipv6');
INTERNAL.addSubnet('fe80::', 10, 'ipv6');

/** The last path segment of a Windows or POSIX path (`\Device\...\mimikatz.exe` → `mimikatz.exe`). */
export function baseName(path: unknown): string | undefined {
  const p = text(path);
  if (p === undefined) return undefined;
  return text(p.split(/[\\/]/).pop());
}
