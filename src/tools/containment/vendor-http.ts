import { ToolRefusedError } from '../types';
import { WARDEN_VERSION } from '../../version';

/** Default time limit for one vendor request. */
export const DEFAULT_VENDOR_TIMEOUT_MS = 15_000;
/** Vendor responses larger than this are an error: these APIs answer in kilobytes. */
const MAX_RESPONSE_BYTES = 1_048_576;

/** What a vendor error says about itself, for callers that branch on it (never a secret). */
export interface VendorErrorDetails {
  vendor: string;
  /** HTTP status, when the vendor answered. */
  status?: number;
  /** The vendor's own error code (Okta `E0000007`, CrowdStrike `403`). */
  code?: string;
  /** When the vendor said how long to wait (429 Retry-After and its vendor variants). */
  retryAfterMs?: number;
}

/**
 * A vendor call that failed in a way a retry may fix: 429, 5xx, 408, a timeout or a network error.
 *
 * A plain `Error` as far as the tool activity is concerned, so Temporal's retry policy retries it and the
 * integration's circuit breaker counts it. The message names the vendor, the operation and the status,
 * never a credential.
 */
export class VendorError extends Error {
  override readonly name: string = 'VendorError';
  constructor(
    message: string,
    readonly details: VendorErrorDetails,
  ) {
    super(message);
  }
}

/**
 * A vendor refused the call and retrying the same call cannot change that: rejected credentials, a missing
 * API scope, an unknown host or user, a request the vendor calls invalid. The activity fails at once.
 */
export class VendorRefusedError extends ToolRefusedError {
  override readonly name: string = 'VendorRefusedError';
  constructor(
    message: string,
    readonly details: VendorErrorDetails,
  ) {
    super(message);
  }
}

/** One request to a vendor API. */
export interface VendorRequest {
  /** `crowdstrike`, `okta`: the first word of every message. */
  vendor: string;
  /** What the call does, in words ("host lookup"), for messages. */
  operation: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** The activity's cancellation signal (ctx.signal). */
  signal: AbortSignal;
  timeoutMs: number;
  /** Values that must never appear in an error message (tokens, client secrets). */
  secrets: string[];
}

/** A vendor's answer: any status; `json` is the parsed body when there was one and it parsed. */
export interface VendorResponse {
  status: number;
  headers: Headers;
  json: unknown;
  text: string;
}

/** "GET api.crowdstrike.com/devices/queries/devices/v1": no query string. */
export function describeRequest(method: string, url: URL): string {
  return `${method} ${url.host}${url.pathname}`;
}

/** Replaces secrets in a message; defence in depth, since vendors rarely echo them. */
export function scrubSecrets(message: string, secrets: string[]): string {
  return secrets.reduce((m, s) => (s.length >= 4 ? m.split(s).join('[redacted]') : m), message);
}

/**
 * How long a 429 asks to wait: `Retry-After` (seconds or HTTP date), CrowdStrike's
 * `X-RateLimit-RetryAfter` and Okta's `X-Rate-Limit-Reset` (both epoch seconds).
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  for (const name of ['x-ratelimit-retryafter', 'x-rate-limit-reset']) {
    const epochSeconds = Number(headers.get(name));
    if (Number.isFinite(epochSeconds) && epochSeconds > 0) return Math.max(0, epochSeconds * 1000 - now);
  }
  return undefined;
}

/**
 * The error for a non-2xx answer: 408, 429 and 5xx are retryable {@link VendorError}s, every other 4xx a
 * {@link VendorRefusedError}. `what` is the vendor's own explanation, `hint` what the operator should do.
 */
export function errorForStatus(
  req: Pick<VendorRequest, 'vendor' | 'operation' | 'method' | 'url' | 'secrets'>,
  res: Pick<VendorResponse, 'status' | 'headers'>,
  what: { code?: string; summary?: string; hint?: string },
): VendorError | VendorRefusedError {
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  const wait = res.status === 429 ? retryAfterMs(res.headers) : undefined;
  const parts = [
    `${req.vendor}: ${req.operation} failed: ${describeRequest(req.method, req.url)} answered ${res.status}`,
    what.code ? ` ${what.code}` : '',
    what.summary ? ` (${what.summary})` : '',
    res.status === 429
      ? `; rate limited, will be retried${wait === undefined ? '' : ` (the vendor asks to wait ${Math.ceil(wait / 1000)} s)`}`
      : '',
    what.hint ? `. ${what.hint}` : '',
  ];
  const message = scrubSecrets(parts.join(''), req.secrets);
  const details: VendorErrorDetails = {
    vendor: req.vendor,
    status: res.status,
    ...(what.code ? { code: what.code } : {}),
    ...(wait === undefined ? {} : { retryAfterMs: wait }),
  };
  return retryable ? new VendorError(message, details) : new VendorRefusedError(message, details);
}

async function readCapped(res: Response, describe: string): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream, closing the connection.
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES)
      throw new Error(`${describe}: the response exceeds ${MAX_RESPONSE_BYTES} bytes; not a response this API sends`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Sends one request with Node's fetch, bounded by `timeoutMs` and cancelled with the activity.
 *
 * Redirects are never followed (an API that redirects is misconfigured, and a redirect to another host
 * must not receive the credentials): a 3xx is refused with the target host named. Returns every other
 * status; throws a retryable {@link VendorError} on timeouts and network errors.
 */
export async function vendorFetch(req: VendorRequest): Promise<VendorResponse> {
  const describe = `${req.vendor}: ${req.operation} (${describeRequest(req.method, req.url)})`;
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = AbortSignal.any([req.signal, timeout]);
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: req.method,
      headers: { accept: 'application/json', 'user-agent': `warden/${WARDEN_VERSION}`, ...req.headers },
      ...(req.body === undefined ? {} : { body: req.body }),
      redirect: 'manual',
      signal,
    });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const location = res.headers.get('location');
      let target = 'an unnamed location';
      if (location && URL.canParse(location, req.url.href)) target = new URL(location, req.url).host;
      throw new VendorRefusedError(
        `${describe} was redirected (${res.status}) to ${target}; redirects are not followed. ` +
          `Check the ${req.vendor} base URL setting (for CrowdStrike, the API host of your cloud region)`,
        { vendor: req.vendor, status: res.status },
      );
    }
    const text = await readCapped(res, describe);
    let json: unknown;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined; // callers report the status; the raw text is never put in messages
      }
    }
    return { status: res.status, headers: res.headers, json, text };
  } catch (err) {
    if (err instanceof VendorRefusedError) throw err;
    if (req.signal.aborted) throw new Error(`${describe}: aborted because the activity was cancelled`);
    if (timeout.aborted)
      throw new VendorError(`${describe}: timed out after ${req.timeoutMs} ms; will be retried`, {
        vendor: req.vendor,
      });
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    throw new VendorError(scrubSecrets(`${describe}: network error (${detail}); will be retried`, req.secrets), {
      vendor: req.vendor,
    });
  }
}
