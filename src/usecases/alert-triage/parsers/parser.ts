import net from 'node:net';
import type { AlertFormat, AlertHost, AlertUser, PrincipalKind, Severity, UntrustedText } from '../alert';
import type { JsonRecord } from '../raw-fields';
import { text } from '../raw-fields';

/**
 * A part of the payload to scan for indicators: `value` (a subtree or a string) read from `field` (its
 * JSON path), and whether the vendor's schema makes that field its own observation (`trusted`). Inside a
 * trusted subtree, free-text keys (command lines, messages, URLs in text) still count as untrusted; see
 * `indicators.ts`.
 */
export interface Evidence {
  field: string;
  value: unknown;
  trusted: boolean;
}

/**
 * What a format parser reads out of one payload; `normalizeAlert` adds the source, the digest, the
 * fallback id, the detection type and the indicators (extracted from `evidence`).
 */
export interface ParsedAlert {
  vendor: string;
  product: string;
  /** The vendor's own id; undefined when the payload has none (a digest-based id is used then). */
  alertId: string | undefined;
  /** The vendor's title (rule, finding or event name); never attacker text. */
  title: string | undefined;
  /** The vendor's description; never attacker text (that goes to `untrusted`). */
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
  /** Subtrees scanned for indicators, each with its field path and trust; identifier-like keys are skipped. */
  evidence: Evidence[];
  /** Attacker-writable text, for humans and models only. */
  untrusted?: UntrustedText;
  /** Vendor strings naming the kind of detection (type codes, classifications), for the detection type. */
  detectionHints?: string[];
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

/** A field the vendor reports as its own observation: trusted provenance. */
export function trusted(field: string): { field: string; trusted: true } {
  return { field, trusted: true };
}

/** A field an attacker can write (log text, claimed names): untrusted provenance. */
export function untrusted(field: string): { field: string; trusted: false } {
  return { field, trusted: false };
}

/** Optional details of a user entry. */
export interface UserDetails {
  kind?: PrincipalKind;
  id?: unknown;
}

/**
 * A user from its name (and domain): splits `DOMAIN\user` into name and domain; a UPN (`user@domain`)
 * stays whole with its domain beside it. Undefined without a name, or for placeholder names (`-`, `N/A`,
 * `null`) that logs write when there is no user.
 */
export function userOf(
  source: { field: string; trusted: boolean },
  name: unknown,
  domain?: unknown,
  details: UserDetails = {},
): AlertUser | undefined {
  const raw = text(name);
  if (raw === undefined || /^(?:-|n\/a|null|none|unknown|\(null\))$/i.test(raw)) return undefined;
  const explicitDomain = text(domain);
  const id = text(details.id);
  const extra = {
    ...(details.kind === undefined ? {} : { kind: details.kind }),
    ...(id === undefined ? {} : { id }),
    field: source.field,
    trusted: source.trusted,
  };
  const backslash = raw.indexOf('\\');
  if (backslash > 0 && backslash < raw.length - 1)
    return { name: raw.slice(backslash + 1), domain: explicitDomain ?? raw.slice(0, backslash), ...extra };
  const at = raw.lastIndexOf('@');
  const upnDomain = at > 0 && at < raw.length - 1 ? raw.slice(at + 1) : undefined;
  const d = explicitDomain ?? upnDomain;
  return d === undefined ? { name: raw, ...extra } : { name: raw, domain: d, ...extra };
}

/** Optional details of a host entry. */
export interface HostDetails {
  ip?: unknown;
  os?: unknown;
  deviceId?: unknown;
  /** The field `ip` came from: the provenance when the address stands in for a missing name. */
  ipField?: string;
  /** The field `deviceId` came from: the provenance when the id stands in for a missing name and address. */
  deviceIdField?: string;
}

/**
 * A host from a name, an address or a device id (in that order of preference for `hostname`); undefined
 * with none of them.
 */
export function hostOf(
  source: { field: string; trusted: boolean },
  hostname: unknown,
  details: HostDetails = {},
): AlertHost | undefined {
  const name = text(hostname);
  const candidate = text(details.ip);
  // An `ip` that is not an address (anonymized "xxx.xxx.x.x", a hostname) is not kept as one.
  const address = candidate !== undefined && net.isIP(candidate) !== 0 ? candidate : undefined;
  const system = text(details.os);
  const deviceId = text(details.deviceId);
  const id = name ?? address ?? deviceId;
  if (id === undefined) return undefined;
  const field =
    name !== undefined
      ? source.field
      : address !== undefined
        ? (details.ipField ?? source.field)
        : (details.deviceIdField ?? source.field);
  return {
    hostname: id,
    ...(address === undefined ? {} : { ip: address }),
    ...(system === undefined ? {} : { os: system }),
    ...(deviceId === undefined ? {} : { deviceId }),
    field,
    trusted: source.trusted,
  };
}

/**
 * Drops undefined entries and merges duplicates (same name, case-insensitively), keeping the most detailed
 * one; a merged entry is trusted when any of its sources is (the vendor vouched for it somewhere).
 */
export function uniqueHosts(hosts: Array<AlertHost | undefined>): AlertHost[] {
  const byName = new Map<string, AlertHost>();
  for (const host of hosts) {
    if (!host) continue;
    const key = host.hostname.toLowerCase();
    const seen = byName.get(key);
    if (!seen) {
      byName.set(key, host);
      continue;
    }
    const lead = seen.trusted || !host.trusted ? seen : host;
    byName.set(key, {
      ...lead,
      ip: seen.ip ?? host.ip,
      os: seen.os ?? host.os,
      deviceId: seen.deviceId ?? host.deviceId,
      trusted: seen.trusted || host.trusted,
    });
  }
  return [...byName.values()].map((h) => JSON.parse(JSON.stringify(h)) as AlertHost);
}

/** Drops undefined entries and merges duplicates (same name and domain, case-insensitively), trusted first. */
export function uniqueUsers(users: Array<AlertUser | undefined>): AlertUser[] {
  const byKey = new Map<string, AlertUser>();
  for (const user of users) {
    if (!user) continue;
    const key = `${user.name.toLowerCase()}|${(user.domain ?? '').toLowerCase()}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, user);
    else if (!seen.trusted && user.trusted)
      byKey.set(key, { ...user, kind: user.kind ?? seen.kind, id: user.id ?? seen.id });
  }
  return [...byKey.values()].map((u) => JSON.parse(JSON.stringify(u)) as AlertUser);
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

/** An empty parse result for `vendor`, to spread and override. */
export function emptyParse(vendor: string, product = 'unknown'): ParsedAlert {
  return {
    vendor,
    product,
    alertId: undefined,
    title: undefined,
    description: undefined,
    severity: 'medium',
    vendorSeverity: null,
    createdAt: undefined,
    category: undefined,
    tactics: [],
    techniques: [],
    hosts: [],
    users: [],
    evidence: [],
  };
}
