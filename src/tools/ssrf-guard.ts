import dns from 'node:dns';
import net from 'node:net';
import { ToolRefusedError } from './types';

/*
 * The SSRF guard of `http_request`: which addresses no workflow may reach through a name it does not
 * control, how the operator's allowed-host entries match, and a DNS lookup that refuses forbidden
 * addresses at connect time (no rebinding between check and connect).
 */

/**
 * Thrown when `http_request` refuses a call by rule (host not allowed, forbidden address, redirect limit).
 *
 * Retrying the same arguments cannot succeed, so callers should fail the step rather than retry; the
 * message names the rule and how to change it, never a header value.
 */
export class HttpRequestRefusedError extends ToolRefusedError {
  override readonly name = 'HttpRequestRefusedError';
}

// Ranges no workflow should reach through a name it does not control: the host itself, the local
// network, and cloud metadata services (169.254.169.254, 100.100.100.200, fd00:ec2::254).
const FORBIDDEN_IPV4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT, used for internal services and some metadata endpoints
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, including 255.255.255.255
];
const FORBIDDEN_IPV6: ReadonlyArray<readonly [string, number]> = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form
  ['fe80::', 10],
  ['fec0::', 10], // deprecated site-local
  ['fc00::', 7],
  ['ff00::', 8],
];

function ipv4Groups(ip: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

const FORBIDDEN = new net.BlockList();
for (const [ip, prefix] of FORBIDDEN_IPV4) {
  FORBIDDEN.addSubnet(ip, prefix, 'ipv4');
  // The same IPv4 ranges in IPv6 clothing: IPv4-mapped, NAT64 and 6to4 addresses reach them too.
  FORBIDDEN.addSubnet(`::ffff:${ipv4Groups(ip)}`, 96 + prefix, 'ipv6');
  FORBIDDEN.addSubnet(`64:ff9b::${ipv4Groups(ip)}`, 96 + prefix, 'ipv6');
  FORBIDDEN.addSubnet(`2002:${ipv4Groups(ip)}::`, 16 + prefix, 'ipv6');
}
for (const [ip, prefix] of FORBIDDEN_IPV6) FORBIDDEN.addSubnet(ip, prefix, 'ipv6');

/**
 * Whether `http_request` refuses to connect to this IP address unless its host is allowed literally.
 *
 * True for loopback, private, link-local (cloud metadata), unspecified, CGNAT, multicast and reserved
 * ranges, in IPv4, IPv6 and IPv4-mapped/NAT64/6to4 forms. Fails closed: anything that is not an IP is forbidden.
 */
export function isForbiddenAddress(ip: string): boolean {
  const bare = ip.split('%')[0] ?? ''; // drop an IPv6 zone id (fe80::1%eth0)
  switch (net.isIP(bare)) {
    case 4:
      return FORBIDDEN.check(bare, 'ipv4');
    case 6:
      return FORBIDDEN.check(bare, 'ipv6');
    default:
      return true;
  }
}

/** One operator allowed-host entry, parsed. */
export interface HostRule {
  host: string;
  port: number | undefined;
  wildcard: boolean;
}

export function canonicalHost(hostname: string): string {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return bare.toLowerCase().replace(/\.$/, '');
}

/** Parses an allowed-host entry (`host`, `host:port`, `[ipv6]:port`, `*.example.com`). @throws for a malformed entry. */
export function parseAllowedHost(raw: string): HostRule {
  const entry = raw.trim().toLowerCase();
  const invalid = (why: string) =>
    new Error(`http_request: allowed host "${raw}" is invalid (WARDEN_HTTP_ALLOWED_HOSTS): ${why}`);
  const wildcard = entry.startsWith('*.');
  const rest = wildcard ? entry.slice(2) : entry;
  const parts = rest.startsWith('[')
    ? /^\[([^\]]+)\](?::(\d+))?$/.exec(rest)
    : net.isIPv6(rest)
      ? [rest, rest]
      : /^([^:]+)(?::(\d+))?$/.exec(rest);
  const [, name, portText] = parts ?? [];
  if (!name) throw invalid('expected host, host:port, [ipv6]:port or *.domain');
  if (name.includes('*')) throw invalid('a wildcard is only allowed as a leading "*."');
  let url: URL;
  try {
    // The URL parser canonicalizes the way request URLs will be (IDN to punycode, 0x7f.1 to 127.0.0.1).
    url = new URL(`http://${net.isIPv6(name) ? `[${name}]` : name}/`);
  } catch {
    throw invalid('not a host name or IP address');
  }
  if (url.username || url.password || url.port || url.pathname !== '/' || url.search || url.hash)
    throw invalid('not a host name or IP address');
  const host = canonicalHost(url.hostname);
  if (wildcard && net.isIP(host)) throw invalid('a wildcard cannot apply to an IP address');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65535)) throw invalid('the port must be 1-65535');
  return { host, port, wildcard };
}

/** True when the entry allows this host and port (wildcards match subdomains only, never an IP). */
export function ruleMatches(rule: HostRule, host: string, port: number): boolean {
  if (rule.port !== undefined && rule.port !== port) return false;
  if (!rule.wildcard) return rule.host === host;
  return net.isIP(host) === 0 && host.endsWith(`.${rule.host}`);
}

/** The URL's port, or its scheme's default. */
export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * A `lookup` for node:http that resolves every address of the name and fails if any is forbidden, so the
 * address the socket connects to is one that was checked (no DNS rebinding between check and connect).
 */
export function guardedLookup(onRefused: (err: HttpRequestRefusedError) => void): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const forbidden = addresses.find((a) => isForbiddenAddress(a.address));
      if (forbidden) {
        const refused = new HttpRequestRefusedError(
          `http_request: ${hostname} resolves to ${forbidden.address}, a loopback, private or link-local address; ` +
            `refused to prevent server-side request forgery. To allow it, list "${hostname}" literally ` +
            `(not through a wildcard) in the allowed hosts (WARDEN_HTTP_ALLOWED_HOSTS)`,
        );
        onRefused(refused);
        return callback(refused, '');
      }
      const [first] = addresses;
      if (!first) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        return callback(notFound, '');
      }
      if (options.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}
