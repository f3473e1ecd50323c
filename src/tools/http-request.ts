// Over 300 lines on purpose: one tool whose request, redirect, streaming-limit and response-decoding rules
// must be read together to judge its safety (the SSRF address checks live in ssrf-guard.ts).
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { addAbortSignal } from 'node:stream';
import { TextDecoder } from 'node:util';
import { z } from 'zod';
import { defineTool } from './types';
import {
  HttpRequestRefusedError,
  canonicalHost,
  effectivePort,
  guardedLookup,
  parseAllowedHost,
  ruleMatches,
} from './ssrf-guard';
import type { HostRule } from './ssrf-guard';

export { HttpRequestRefusedError, isForbiddenAddress } from './ssrf-guard';
import type { Risk, ToolContext } from './types';
import { WARDEN_VERSION } from '../version';

/**
 * Limits and allowlist for the `http_request` tool; the operator's configuration, not the model's.
 *
 * An allowed-host entry is `host`, `host:port`, `[ipv6]:port` or `*.example.com`; a wildcard matches
 * subdomains only (not `example.com` itself) and never an IP address. Hosts compare case-insensitively
 * after IDN and IP normalization. An entry with a port matches only that port, one without a port any port.
 * Naming a host literally is also the opt-in to reach private, loopback or link-local addresses through it.
 */
export interface HttpRequestConfig {
  /** Hosts the tool may call; an empty list refuses every call. */
  allowedHosts: string[];
  /** Upper bound for one call, all redirects included; callers may ask for less, never more. */
  timeoutMs: number;
  /** Response bodies are cut at this many bytes and reported as `truncated`. */
  maxResponseBytes: number;
  /** Redirects followed per call (each hop re-checked); one more is an error. 0 disables following. */
  maxRedirects: number;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Methods that must be safe to repeat; everything else gets an Idempotency-Key. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Credentials a redirect to another origin must not receive (as browsers and curl do). */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Node's own rule for header values; rejecting CR/LF here prevents header injection.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * Headers the tool computes itself. `host` would address another virtual host than the allowlist checked,
 * framing headers would desynchronize the connection, and compressed bodies would defeat the size limit.
 */
const MANAGED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'accept-encoding',
]);

/**
 * Arguments of the `http_request` tool.
 *
 * `body` as a string is sent as is; any other JSON value is sent as JSON with `content-type:
 * application/json` unless the caller set one. Header names are unique case-insensitively, header values
 * may not hold control characters, and framing headers (`host`, `content-length`, ...) are the tool's own.
 */
export const HttpRequestInput = z.object({
  method: z.enum(METHODS).default('GET').describe('HTTP method. GET and HEAD read; DELETE is destructive.'),
  url: z
    .url({ protocol: /^https?$/, error: 'url must be an absolute http:// or https:// URL' })
    .refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), {
      error: 'url must not contain credentials (user:password@); send them in an authorization header',
    })
    .describe('Absolute http(s) URL; its host must be in the allowed hosts.'),
  headers: z
    .record(z.string(), z.string())
    .superRefine((headers, ctx) => {
      const seen = new Set<string>();
      for (const [name, value] of Object.entries(headers)) {
        const lower = name.toLowerCase();
        // Messages name the header, never its value: values are often credentials.
        if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', message: `"${name}" is not a valid header name` });
        else if (MANAGED_HEADERS.has(lower))
          ctx.addIssue({ code: 'custom', message: `header "${name}" is set by http_request and cannot be overridden` });
        else if (seen.has(lower))
          ctx.addIssue({ code: 'custom', message: `header "${name}" is given twice (names are case-insensitive)` });
        else if (!HEADER_VALUE.test(value))
          ctx.addIssue({
            code: 'custom',
            message: `the value of header "${name}" contains a control or non-Latin-1 character`,
          });
        seen.add(lower);
      }
    })
    .optional()
    .describe('Request headers.'),
  body: z.json().optional().describe('Request body: a string is sent as is, any other JSON value as application/json.'),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Timeout for the whole call in ms, redirects included; capped at the configured maximum.'),
});
/** Arguments of the `http_request` tool, after defaults. */
export type HttpRequestInput = z.output<typeof HttpRequestInput>;

/**
 * What `http_request` returns: any status, including 4xx and 5xx (only network failures throw).
 *
 * `body` is decoded with the response charset (UTF-8 by default) and holds at most `maxResponseBytes`
 * bytes; `bytes` is how many bytes it was decoded from. `json` is set when the response says it is JSON,
 * was not truncated, and parses. Repeated response headers are joined with ", ".
 */
export const HttpRequestResult = z.object({
  status: z.number().int(),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  json: z.unknown().optional(),
  bytes: z.number().int().nonnegative(),
  truncated: z.boolean(),
});
/** What `http_request` returns. */
export type HttpRequestResult = z.infer<typeof HttpRequestResult>;

/** "POST api.example.com/v1/tickets": no query string, which can hold secrets. */
function describeCall(method: string, url: URL): string {
  return `${method} ${url.host}${url.pathname}`;
}

function riskOf(method: HttpRequestInput['method']): Risk {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return 'read';
    case 'POST':
    case 'PUT':
    case 'PATCH':
      return 'write';
    case 'DELETE':
      return 'destructive';
  }
}

function checkConfig(config: HttpRequestConfig): HostRule[] {
  const problems: string[] = [];
  if (!Number.isInteger(config.timeoutMs) || config.timeoutMs <= 0)
    problems.push('timeoutMs must be a positive integer');
  if (!Number.isInteger(config.maxResponseBytes) || config.maxResponseBytes <= 0)
    problems.push('maxResponseBytes must be a positive integer');
  if (!Number.isInteger(config.maxRedirects) || config.maxRedirects < 0)
    problems.push('maxRedirects must be a non-negative integer');
  if (problems.length > 0) throw new Error(`http_request: invalid configuration: ${problems.join('; ')}`);
  return config.allowedHosts.map(parseAllowedHost);
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  lookup: net.LookupFunction | undefined,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? https.request : http.request;
    // agent: false: a pooled socket could have been opened under another tool's allowlist.
    const req = request(url, { method, headers, lookup, signal, agent: false });
    req.once('response', resolve);
    // Stays attached after the response: errors then surface through the response stream instead.
    req.on('error', reject);
    req.end(body);
  });
}

async function readBody(
  res: http.IncomingMessage,
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ data: Buffer; truncated: boolean }> {
  addAbortSignal(signal, res);
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    const room = maxBytes - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      size += room;
      truncated = true;
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  // The server may still be sending; destroying the response closes the socket.
  if (truncated) res.destroy();
  return { data: Buffer.concat(chunks, size), truncated };
}

function decode(data: Buffer, contentType: string | undefined): string {
  const charset = /;\s*charset="?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(data);
  } catch {
    return new TextDecoder('utf-8').decode(data);
  }
}

function isJsonType(contentType: string | undefined): boolean {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || /^application\/[^/]+\+json$/.test(media);
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** Replaces every header value in a message; defence in depth, since Node's errors rarely quote them. */
function scrub(message: string, secrets: string[]): string {
  return secrets.reduce((m, secret) => (secret.length >= 4 ? m.split(secret).join('[redacted]') : m), message);
}

/**
 * Builds the `http_request` tool: one HTTP(S) request to an allowed host, with SSRF protection, manual
 * redirects, a timeout and a response size limit.
 *
 * Every hop (redirects included) is checked against `allowedHosts`, and names reached through a wildcard
 * entry must resolve only to public addresses; the socket connects to the address that was checked.
 * Non-2xx responses are returned; refusals throw {@link HttpRequestRefusedError} and network failures,
 * timeouts and cancellation throw `Error`, with messages that name method, host and path but never
 * header values or query strings. Non-GET/HEAD calls carry `Idempotency-Key: ctx.idempotencyKey`
 * unless the caller set one. @throws Error when the configuration is invalid.
 */
export function createHttpRequestTool(config: HttpRequestConfig) {
  const rules = checkConfig(config);
  const hostList = config.allowedHosts.length > 0 ? config.allowedHosts.join(', ') : '(none)';

  /** Throws unless the URL may be called; says whether private addresses are allowed for its host. */
  function authorize(method: string, url: URL): { allowPrivate: boolean } {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new HttpRequestRefusedError(
        `http_request: ${method} to a ${url.protocol} URL is refused; only http and https are allowed`,
      );
    const host = canonicalHost(url.hostname);
    const matches = rules.filter((rule) => ruleMatches(rule, host, effectivePort(url)));
    if (matches.length === 0)
      throw new HttpRequestRefusedError(
        `http_request: host ${url.host} is not in the allowed hosts (WARDEN_HTTP_ALLOWED_HOSTS); ` +
          `refused ${describeCall(method, url)}. Add "${url.host}" to the list to allow it`,
      );
    return { allowPrivate: matches.some((rule) => !rule.wildcard) };
  }

  return defineTool({
    name: 'http_request',
    description:
      `Sends one HTTP request and returns its status, headers and body (at most ${config.maxResponseBytes} bytes). ` +
      `4xx and 5xx statuses are returned, not raised. Allowed hosts: ${hostList}.`,
    input: HttpRequestInput,
    output: HttpRequestResult,
    risk: 'write',
    riskFor: (args) => riskOf(args.method),
    capabilities: [],
    summarize: (args) => describeCall(args.method, new URL(args.url)),

    async execute(args, ctx: ToolContext): Promise<HttpRequestResult> {
      const timeoutMs = Math.min(args.timeoutMs ?? config.timeoutMs, config.timeoutMs);
      let url = new URL(args.url);
      let method: string = args.method;
      let body: Buffer | undefined;
      const headers: Record<string, string> = { 'user-agent': `warden/${WARDEN_VERSION}` };
      for (const [name, value] of Object.entries(args.headers ?? {})) headers[name.toLowerCase()] = value;
      const secrets = Object.values(args.headers ?? {});
      if (typeof args.body === 'string') body = Buffer.from(args.body, 'utf8');
      else if (args.body !== undefined) {
        body = Buffer.from(JSON.stringify(args.body), 'utf8');
        headers['content-type'] ??= 'application/json';
      }
      if (body !== undefined) headers['content-length'] = String(body.length);
      if (!SAFE_METHODS.has(method)) headers['idempotency-key'] ??= ctx.idempotencyKey;
      headers['accept-encoding'] = 'identity';

      // One controller for the whole call: every hop and the body read stop on timeout or cancellation.
      const controller = new AbortController();
      const timer = setTimeout(
        () =>
          controller.abort(new Error(`http_request: timed out after ${timeoutMs} ms (${describeCall(method, url)})`)),
        timeoutMs,
      );
      const onCancel = () =>
        controller.abort(
          new Error(`http_request: aborted because the activity was cancelled (${describeCall(method, url)})`),
        );
      if (ctx.signal.aborted) onCancel();
      else ctx.signal.addEventListener('abort', onCancel, { once: true });
      let refused: HttpRequestRefusedError | undefined;
      const lookup = guardedLookup((err) => (refused = err));

      try {
        for (let hop = 0; ; hop++) {
          if (controller.signal.aborted) throw controller.signal.reason as Error;
          // IP literals only match literal entries, so the lookup below covers every unchecked address.
          const { allowPrivate } = authorize(method, url);
          const res = await send(url, method, headers, body, allowPrivate ? undefined : lookup, controller.signal);
          const status = res.statusCode ?? 0;
          ctx.heartbeat({ hop, status });
          ctx.logger.debug(
            { tool: 'http_request', method, host: url.host, path: url.pathname, status, hop },
            'response',
          );

          const location = REDIRECT_STATUSES.has(status) ? res.headers.location : undefined;
          if (location === undefined) {
            const { data, truncated } = await readBody(res, config.maxResponseBytes, controller.signal);
            const contentType = res.headers['content-type'];
            const text = decode(data, contentType);
            let json: unknown;
            if (!truncated && isJsonType(contentType) && text.trim() !== '') {
              try {
                json = JSON.parse(text);
              } catch {
                json = undefined; // the raw body is still returned
              }
            }
            return {
              status,
              headers: flattenHeaders(res.headers),
              body: text,
              ...(json === undefined ? {} : { json }),
              bytes: data.length,
              truncated,
            };
          }

          res.destroy(); // a redirect's body is never read
          let next: URL;
          try {
            next = new URL(location, url);
          } catch {
            throw new Error(`http_request: ${describeCall(method, url)} answered ${status} with an invalid Location`);
          }
          if (hop >= config.maxRedirects)
            throw new HttpRequestRefusedError(
              `http_request: ${describeCall(args.method, new URL(args.url))} was redirected more than ` +
                `${config.maxRedirects} times (maxRedirects); the last redirect pointed to ${describeCall(method, next)}`,
            );
          if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
            method = 'GET';
            body = undefined;
            for (const name of Object.keys(headers)) if (name.startsWith('content-')) delete headers[name];
          }
          if (next.origin !== url.origin) for (const name of CREDENTIAL_HEADERS) delete headers[name];
          url = next;
        }
      } catch (err) {
        if (controller.signal.aborted) throw controller.signal.reason as Error;
        if (err instanceof HttpRequestRefusedError) throw err;
        if (refused) throw refused;
        if (err instanceof Error && err.message.startsWith('http_request:')) throw err;
        const code = (err as NodeJS.ErrnoException | undefined)?.code;
        const detail = err instanceof Error ? err.message : 'unknown error';
        throw new Error(
          `http_request: ${describeCall(method, url)} failed${code && !detail.includes(code) ? ` (${code})` : ''}: ` +
            scrub(detail, secrets),
        );
      } finally {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onCancel);
      }
    },
  });
}
