import crypto from 'node:crypto';
import { z } from 'zod';
import type { FalconCredentials } from './falcon-credentials';
import { DEFAULT_VENDOR_TIMEOUT_MS, VendorError, errorForStatus, vendorFetch } from './vendor-http';
import type { VendorRequest, VendorResponse } from './vendor-http';

/** What a Falcon call needs besides its arguments: the leased credentials and the activity's signal. */
export interface FalconCall {
  credentials: FalconCredentials;
  signal: AbortSignal;
}

/** Where and how long: from WARDEN_CROWDSTRIKE_BASE_URL. */
export interface FalconClientOptions {
  /** API host of the Falcon cloud, e.g. https://api.crowdstrike.com (US-1), https://api.eu-1.crowdstrike.com. */
  baseUrl: string;
  /** Limit for one request. @default 15000 */
  timeoutMs?: number;
}

/**
 * The fields of a Falcon device record Warden reads; `status` is the containment state: `normal`,
 * `containment_pending`, `contained` or `lift_containment_pending`.
 */
export const FalconDevice = z
  .object({ device_id: z.string(), hostname: z.string().optional(), status: z.string().optional() })
  .loose();
/** A Falcon device record (GET /devices/entities/devices/v2). */
export type FalconDevice = z.infer<typeof FalconDevice>;

/** A custom IOC as Falcon IOC Management returns it. */
export const FalconIndicator = z
  .object({
    id: z.string(),
    type: z.string(),
    value: z.string(),
    action: z.string(),
    expiration: z.string().optional(),
    tags: z.array(z.string()).nullish(),
  })
  .loose();
/** A custom IOC (GET /iocs/entities/indicators/v1). */
export type FalconIndicator = z.infer<typeof FalconIndicator>;

/** CrowdStrike's response envelope: `{ meta, resources, errors }`; every field may be null. */
const Envelope = z
  .object({
    meta: z.object({ trace_id: z.string().optional() }).loose().nullish(),
    resources: z.array(z.unknown()).nullish(),
    errors: z.array(z.object({ code: z.number().optional(), message: z.string().optional() }).loose()).nullish(),
  })
  .loose();
type Envelope = z.infer<typeof Envelope>;

const Token = z.object({ access_token: z.string().min(1), expires_in: z.number().positive() }).loose();

/** A token is renewed this long before Falcon says it expires (tokens live 30 minutes). */
const TOKEN_MARGIN_MS = 60_000;

/** Operator hints by status, for calls that carry a bearer token. */
const HINTS: Record<number, string> = {
  403: 'The Falcon API client lacks a scope this call needs (Hosts: Read and Write for containment, IOC Management: Read and Write for indicators); add it under Support and resources > API clients and keys',
  404: 'Falcon does not know this resource; check the id and that WARDEN_CROWDSTRIKE_BASE_URL is the API host of your cloud',
};

function errorsText(env: Envelope | undefined): string | undefined {
  const errors = env?.errors ?? [];
  if (errors.length === 0) return undefined;
  const text = errors.map((e) => [e.code, e.message].filter((x) => x !== undefined).join(': ')).join('; ');
  const trace = env?.meta?.trace_id;
  return trace ? `${text}; trace_id ${trace}` : text;
}

/**
 * A small CrowdStrike Falcon API client in CrowdStrike's own request format: OAuth2 client credentials,
 * FQL filters, the `{ meta, resources, errors }` envelope.
 *
 * Bearer tokens are cached per credential (keyed by a SHA-256 of the base URL and the credential, so only
 * a caller that presents the same leased credential reuses one) and renewed a minute before they expire,
 * or at once when Falcon answers 401. Nothing is retried here except that one re-authentication; every
 * other failure is thrown (retryable `VendorError` or `VendorRefusedError`) for Temporal to handle.
 */
export class FalconClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  /** Token requests in flight: concurrent calls (48 activities after a worker restart) share one. */
  private readonly fetching = new Map<string, Promise<string>>();

  constructor(options: FalconClientOptions) {
    this.base = new URL(options.baseUrl.replace(/\/+$/, '') + '/');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
  }

  /** The API host this client talks to, for messages. */
  get host(): string {
    return this.base.host;
  }

  /** Device ids whose hostname is exactly `hostname` (FQL `hostname:'<name>'`). Callers validate the name. */
  async findDeviceIds(call: FalconCall, hostname: string): Promise<string[]> {
    const env = await this.request(call, 'host lookup', 'GET', 'devices/queries/devices/v1', {
      query: { filter: `hostname:'${hostname}'` },
    });
    return z.array(z.string()).parse(env.resources ?? []);
  }

  /** The device record, or undefined when Falcon does not know the id. */
  async getDevice(call: FalconCall, deviceId: string): Promise<FalconDevice | undefined> {
    const env = await this.request(call, 'host details', 'GET', 'devices/entities/devices/v2', {
      query: { ids: deviceId },
      allow404: true,
    });
    const [device] = z.array(FalconDevice).parse(env.resources ?? []);
    return device;
  }

  /**
   * Contains or releases one device (POST /devices/entities/devices-actions/v2). Returns `applied: false`
   * when Falcon answers 409, its way of saying the host is already in that state.
   */
  async deviceAction(
    call: FalconCall,
    action: 'contain' | 'lift_containment',
    deviceId: string,
  ): Promise<{ applied: boolean }> {
    const env = await this.request(call, `${action} host`, 'POST', 'devices/entities/devices-actions/v2', {
      query: { action_name: action },
      body: { ids: [deviceId] },
      allow409: true,
    });
    const conflict = (env.errors ?? []).some((e) => e.code === 409);
    if ((env.resources ?? []).length === 0 && !conflict)
      throw new VendorError(
        `crowdstrike: ${action} host ${deviceId}: Falcon accepted no device (${errorsText(env) ?? 'no errors given'})`,
        {
          vendor: 'crowdstrike',
        },
      );
    return { applied: !conflict };
  }

  /** Custom IOCs of this type and value (query, then details). Callers validate the value. */
  async findIndicators(call: FalconCall, type: string, value: string): Promise<FalconIndicator[]> {
    const ids = z.array(z.string()).parse(
      (
        await this.request(call, 'indicator lookup', 'GET', 'iocs/queries/indicators/v1', {
          query: { filter: `type:'${type}'+value:'${value}'` },
        })
      ).resources ?? [],
    );
    if (ids.length === 0) return [];
    const env = await this.request(call, 'indicator details', 'GET', 'iocs/entities/indicators/v1', {
      query: { ids: ids.join(',') },
    });
    return z.array(FalconIndicator).parse(env.resources ?? []);
  }

  /** Creates one custom IOC; `comment` lands in Falcon's audit log. */
  async createIndicator(
    call: FalconCall,
    indicator: Record<string, unknown>,
    comment: string,
  ): Promise<FalconIndicator> {
    return this.writeIndicator(call, 'create indicator', 'POST', indicator, comment);
  }

  /** Updates one custom IOC by id (PATCH /iocs/entities/indicators/v1). */
  async updateIndicator(
    call: FalconCall,
    patch: { id: string } & Record<string, unknown>,
    comment: string,
  ): Promise<FalconIndicator> {
    return this.writeIndicator(call, 'update indicator', 'PATCH', patch, comment);
  }

  private async writeIndicator(
    call: FalconCall,
    operation: string,
    method: 'POST' | 'PATCH',
    indicator: Record<string, unknown>,
    comment: string,
  ): Promise<FalconIndicator> {
    const env = await this.request(call, operation, method, 'iocs/entities/indicators/v1', {
      body: { comment, indicators: [indicator] },
    });
    const [created] = z.array(FalconIndicator).parse(env.resources ?? []);
    if (!created)
      throw new VendorError(
        `crowdstrike: ${operation}: Falcon returned no indicator (${errorsText(env) ?? 'no errors given'})`,
        {
          vendor: 'crowdstrike',
        },
      );
    return created;
  }

  private cacheKey(creds: FalconCredentials): string {
    return crypto
      .createHash('sha256')
      .update([this.base.href, creds.clientId, creds.clientSecret, creds.memberCid ?? ''].join('\0'))
      .digest('hex');
  }

  /**
   * A bearer token for these credentials: cached, or from POST /oauth2/token — one request at a time per
   * credential (single flight): every call that needs a token meanwhile waits for that one. `stale` is the
   * token Falcon just refused (401): a newer one is used if another call already replaced it.
   */
  private async token(call: FalconCall, fresh: boolean, stale?: string): Promise<string> {
    const key = this.cacheKey(call.credentials);
    const cached = this.tokens.get(key);
    const valid = cached && cached.expiresAt - TOKEN_MARGIN_MS > Date.now();
    if (valid && (!fresh || cached.token !== stale)) return cached.token;
    const inflight = this.fetching.get(key);
    if (inflight) return inflight;
    this.tokens.delete(key);
    // Not bound to this caller's cancellation: other calls wait on the same request (timeoutMs bounds it).
    const request = this.fetchToken(call.credentials, key).finally(() => this.fetching.delete(key));
    this.fetching.set(key, request);
    return request;
  }

  private async fetchToken(credentials: FalconCredentials, key: string): Promise<string> {
    const call = { credentials, signal: new AbortController().signal };
    const { clientId, clientSecret, memberCid } = call.credentials;
    const form = new URLSearchParams({ client_id: clientId, client_secret: clientSecret });
    if (memberCid) form.set('member_cid', memberCid);
    const req: VendorRequest = {
      vendor: 'crowdstrike',
      operation: 'token request',
      method: 'POST',
      url: new URL('oauth2/token', this.base),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: call.signal,
      timeoutMs: this.timeoutMs,
      secrets: [clientSecret],
    };
    const res = await vendorFetch(req);
    if (res.status < 200 || res.status > 299) {
      const env = Envelope.safeParse(res.json);
      throw errorForStatus(req, res, {
        summary: errorsText(env.success ? env.data : undefined),
        hint:
          res.status === 400 || res.status === 401 || res.status === 403
            ? 'Falcon rejected the API client credentials: check the secret crowdstrike.api_token (client_id:client_secret) and that the API client exists in the cloud of WARDEN_CROWDSTRIKE_BASE_URL'
            : undefined,
      });
    }
    const parsed = Token.safeParse(res.json);
    if (!parsed.success)
      throw new VendorError(`crowdstrike: token request: the answer (${res.status}) holds no access_token`, {
        vendor: 'crowdstrike',
        status: res.status,
      });
    this.tokens.set(key, { token: parsed.data.access_token, expiresAt: Date.now() + parsed.data.expires_in * 1000 });
    return parsed.data.access_token;
  }

  /** One authenticated call; re-authenticates once when Falcon answers 401 (token expired or revoked). */
  private async request(
    call: FalconCall,
    operation: string,
    method: VendorRequest['method'],
    path: string,
    opts: { query?: Record<string, string>; body?: unknown; allow404?: boolean; allow409?: boolean },
  ): Promise<Envelope> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    let res: VendorResponse | undefined;
    let req: VendorRequest | undefined;
    let token: string | undefined;
    for (const fresh of [false, true]) {
      token = await this.token(call, fresh, token);
      req = {
        vendor: 'crowdstrike',
        operation,
        method,
        url,
        headers: {
          authorization: `Bearer ${token}`,
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
        signal: call.signal,
        timeoutMs: this.timeoutMs,
        secrets: [token, call.credentials.clientSecret],
      };
      res = await vendorFetch(req);
      if (res.status !== 401) break;
    }
    if (!res || !req) throw new Error('crowdstrike: unreachable');
    const env = Envelope.safeParse(res.json);
    const ok =
      (res.status >= 200 && res.status < 300) ||
      (opts.allow404 && res.status === 404) ||
      (opts.allow409 && res.status === 409);
    if (ok && env.success) return env.data;
    if (ok)
      throw new VendorError(
        `crowdstrike: ${operation}: the answer (${res.status}) is not a CrowdStrike response envelope`,
        {
          vendor: 'crowdstrike',
          status: res.status,
        },
      );
    const refusal = errorForStatus(req, res, {
      summary: errorsText(env.success ? env.data : undefined),
      hint:
        res.status === 401
          ? 'Falcon rejected a fresh bearer token; check the API client in the Falcon console'
          : HINTS[res.status],
    });
    // A 401 right after a new token is odd but not the caller's fault: let Temporal retry it.
    if (res.status === 401) throw new VendorError(refusal.message, refusal.details);
    throw refusal;
  }
}
