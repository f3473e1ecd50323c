import crypto from 'node:crypto';
import { startJsonServer } from './fake-http';
import type { FakeHttpRequest, FakeHttpResponse, FakeHttpServer } from './fake-http';

/** A host enrolled in the fake Falcon tenant. */
export interface FakeFalconDevice {
  device_id: string;
  hostname: string;
  status: 'normal' | 'containment_pending' | 'contained' | 'lift_containment_pending';
  platform_name: string;
}

/** One devices-actions request for one device, as the fake handled it. */
export interface FakeDeviceAction {
  deviceId: string;
  action: string;
  outcome: 'applied' | 'conflict';
}

/** A custom IOC in the fake tenant (Falcon IOC Management fields). */
export interface FakeIndicator {
  id: string;
  type: string;
  value: string;
  action: string;
  severity?: string;
  platforms: string[];
  description?: string;
  source?: string;
  expiration?: string;
  applied_globally?: boolean;
}

/** A fake CrowdStrike Falcon API speaking Falcon's request and response formats. */
export interface FakeCrowdStrike extends FakeHttpServer {
  clientId: string;
  clientSecret: string;
  /** Scopes of the fake API client: `hosts:read`, `hosts:write`, `iocs:read`, `iocs:write`. */
  scopes: Set<string>;
  devices: Map<string, FakeFalconDevice>;
  /** Every devices-actions request, per device: count containment calls with `actionsFor(id)`. */
  actions: FakeDeviceAction[];
  indicators: Map<string, FakeIndicator>;
  /** Every IOC create/update, with Falcon's audit comment. */
  indicatorWrites: Array<{ method: string; comment: unknown; indicator: Record<string, unknown> }>;
  requests: Array<{ method: string; path: string }>;
  tokensIssued: number;
  addDevice(hostname: string, status?: FakeFalconDevice['status']): string;
  actionsFor(deviceId: string): FakeDeviceAction[];
  /** Answer the next `n` requests (any endpoint) with `status` (429 carries Falcon's rate-limit headers). */
  failNext(n: number, status?: number): void;
  /**
   * Apply the next `n` device actions, then answer `status` instead of Falcon's 202: the change is made but
   * the caller never hears of it (a gateway timeout, a connection lost after the write).
   */
  loseNextActionAnswers(n: number, status?: number): void;
  /** Called once per device action Falcon applied, before answering (a test kills its worker here). */
  onApplied?: (deviceId: string, action: string) => void;
  /** Invalidates every bearer token issued so far (as if they expired). */
  revokeTokens(): void;
}

const HASHES = new Set(['sha256', 'md5']);
const IOC_TYPES = new Set(['sha256', 'md5', 'domain', 'ipv4', 'ipv6']);
const IOC_ACTIONS = new Set(['no_action', 'allow', 'detect', 'prevent', 'prevent_no_ui']);

function envelope(status: number, resources: unknown[], errors: Array<{ code: number; message: string }> = []) {
  const meta = { query_time: 0.001, powered_by: 'fake-crowdstrike', trace_id: crypto.randomUUID() };
  return { status, json: { meta, resources, errors } };
}

/** A JSON field as a string ('' when absent or not a string). */
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function fail(status: number, message: string): FakeHttpResponse {
  return envelope(status, [], [{ code: status, message }]);
}

function requiredScope(method: string, path: string): string | undefined {
  if (path.startsWith('/devices/entities/devices-actions/')) return 'hosts:write';
  if (path.startsWith('/devices/')) return 'hosts:read';
  if (path.startsWith('/iocs/')) return method === 'GET' ? 'iocs:read' : 'iocs:write';
  return undefined;
}

/** Starts a fake Falcon API on loopback. Defaults: one API client with every scope, no devices. */
export async function startFakeCrowdStrike(
  opts: { clientId?: string; clientSecret?: string; scopes?: string[]; tokenTtlSeconds?: number } = {},
): Promise<FakeCrowdStrike> {
  const tokens = new Map<string, number>();
  let failures = { n: 0, status: 429 };
  let lostAnswers = { n: 0, status: 502 };
  const state = {
    clientId: opts.clientId ?? '0123456789abcdef0123456789abcdef',
    clientSecret: opts.clientSecret ?? 'FakeFalconSecret0123456789abcdefghijklmn',
    scopes: new Set(opts.scopes ?? ['hosts:read', 'hosts:write', 'iocs:read', 'iocs:write']),
    devices: new Map<string, FakeFalconDevice>(),
    actions: [] as FakeDeviceAction[],
    indicators: new Map<string, FakeIndicator>(),
    indicatorWrites: [] as FakeCrowdStrike['indicatorWrites'],
    requests: [] as FakeCrowdStrike['requests'],
    tokensIssued: 0,
  };

  function token(req: FakeHttpRequest): FakeHttpResponse {
    if (!String(req.headers['content-type']).includes('application/x-www-form-urlencoded'))
      return fail(400, 'invalid content type: application/x-www-form-urlencoded is required');
    const form = new URLSearchParams(req.body);
    if (form.get('client_id') !== state.clientId || form.get('client_secret') !== state.clientSecret)
      return fail(403, 'Failed to issue access token - Not Authorized');
    const accessToken = crypto.randomBytes(24).toString('base64url');
    const ttl = opts.tokenTtlSeconds ?? 1799;
    tokens.set(accessToken, Date.now() + ttl * 1000);
    state.tokensIssued++;
    return { status: 201, json: { access_token: accessToken, token_type: 'bearer', expires_in: ttl } };
  }

  function devices(req: FakeHttpRequest): FakeHttpResponse {
    const path = req.url.pathname;
    if (req.method === 'GET' && path === '/devices/queries/devices/v1') {
      const m = /^hostname:'([^']*)'$/.exec(req.url.searchParams.get('filter') ?? '');
      if (!m) return fail(400, 'Invalid filter');
      const name = (m[1] ?? '').toLowerCase();
      return envelope(
        200,
        [...state.devices.values()].filter((d) => d.hostname.toLowerCase() === name).map((d) => d.device_id),
      );
    }
    if (req.method === 'GET' && path === '/devices/entities/devices/v2') {
      const ids = req.url.searchParams.getAll('ids').flatMap((i) => i.split(','));
      const found = ids.map((id) => state.devices.get(id)).filter((d) => d !== undefined);
      return found.length ? envelope(200, found) : fail(404, 'Device not found');
    }
    if (req.method === 'POST' && path === '/devices/entities/devices-actions/v2') {
      const action = req.url.searchParams.get('action_name') ?? '';
      if (action !== 'contain' && action !== 'lift_containment') return fail(400, `invalid action_name ${action}`);
      const ids = (JSON.parse(req.body || '{}') as { ids?: unknown }).ids;
      if (!Array.isArray(ids) || ids.length === 0) return fail(400, 'ids are required');
      const done: Array<{ id: string; path: string }> = [];
      const errors: Array<{ code: number; message: string }> = [];
      for (const id of ids as string[]) {
        const d = state.devices.get(id);
        if (!d) {
          errors.push({ code: 404, message: `Device ${id} not found` });
          continue;
        }
        const inState = action === 'contain' ? d.status !== 'normal' : d.status === 'normal';
        state.actions.push({ deviceId: id, action, outcome: inState ? 'conflict' : 'applied' });
        if (inState) errors.push({ code: 409, message: `Host ${id} is already in the requested containment state` });
        else {
          d.status = action === 'contain' ? 'contained' : 'normal';
          done.push({ id, path: '' });
          api.onApplied?.(id, action);
        }
      }
      const status = done.length ? 202 : (errors[0]?.code ?? 400);
      if (lostAnswers.n > 0) {
        lostAnswers.n--;
        return fail(lostAnswers.status, 'upstream request timeout');
      }
      return envelope(status, done, errors);
    }
    return fail(404, 'no such endpoint');
  }

  function iocs(req: FakeHttpRequest): FakeHttpResponse {
    const path = req.url.pathname;
    if (req.method === 'GET' && path === '/iocs/queries/indicators/v1') {
      const m = /^type:'([^']+)'\+value:'([^']+)'$/.exec(req.url.searchParams.get('filter') ?? '');
      if (!m) return fail(400, 'Invalid filter');
      return envelope(
        200,
        [...state.indicators.values()].filter((i) => i.type === m[1] && i.value === m[2]).map((i) => i.id),
      );
    }
    if (req.method === 'GET' && path === '/iocs/entities/indicators/v1') {
      const ids = req.url.searchParams.getAll('ids').flatMap((i) => i.split(','));
      return envelope(
        200,
        ids.map((id) => state.indicators.get(id)).filter((i) => i !== undefined),
      );
    }
    if ((req.method === 'POST' || req.method === 'PATCH') && path === '/iocs/entities/indicators/v1') {
      const body = JSON.parse(req.body || '{}') as { comment?: unknown; indicators?: Array<Record<string, unknown>> };
      const [input] = body.indicators ?? [];
      if (!input) return fail(400, 'indicators are required');
      state.indicatorWrites.push({ method: req.method, comment: body.comment, indicator: input });
      const action = str(input.action);
      if (input.action !== undefined && !IOC_ACTIONS.has(action)) return fail(400, `Invalid action: ${action}`);
      if (req.method === 'PATCH') {
        const existing = state.indicators.get(String(input.id));
        if (!existing) return fail(404, `Indicator ${String(input.id)} not found`);
        Object.assign(existing, input);
        return envelope(200, [existing]);
      }
      const type = str(input.type);
      const value = str(input.value);
      if (!IOC_TYPES.has(type)) return fail(400, `Invalid type: ${type}`);
      if (!HASHES.has(type) && action === 'prevent')
        return fail(400, `Action prevent is not supported for type ${type}`);
      if (!Array.isArray(input.platforms) || input.platforms.length === 0) return fail(400, 'platforms are required');
      if ([...state.indicators.values()].some((i) => i.type === type && i.value === value))
        return fail(400, `Duplicate type: '${type}' and value: '${value}' combination.`);
      const created = { ...input, id: crypto.randomBytes(32).toString('hex') } as unknown as FakeIndicator;
      state.indicators.set(created.id, created);
      return envelope(201, [created]);
    }
    return fail(404, 'no such endpoint');
  }

  const server = await startJsonServer((req) => {
    state.requests.push({ method: req.method, path: req.url.pathname });
    if (failures.n > 0) {
      failures.n--;
      const headers: Record<string, string> =
        failures.status === 429
          ? {
              'x-ratelimit-limit': '6000',
              'x-ratelimit-remaining': '0',
              'x-ratelimit-retryafter': String(Math.ceil(Date.now() / 1000) + 1),
            }
          : {};
      return {
        ...fail(failures.status, failures.status === 429 ? 'API rate limit exceeded.' : 'internal error'),
        headers,
      };
    }
    if (req.method === 'POST' && req.url.pathname === '/oauth2/token') return token(req);
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    if ((tokens.get(bearer) ?? 0) < Date.now()) return fail(401, 'access denied, invalid bearer token');
    const scope = requiredScope(req.method, req.url.pathname);
    if (scope && !state.scopes.has(scope)) return fail(403, 'access denied, authorization failed');
    if (req.url.pathname.startsWith('/devices/')) return devices(req);
    if (req.url.pathname.startsWith('/iocs/')) return iocs(req);
    return fail(404, 'no such endpoint');
  });

  const api: FakeCrowdStrike = Object.assign(state, server, {
    addDevice(hostname: string, status: FakeFalconDevice['status'] = 'normal') {
      const id = crypto.randomBytes(16).toString('hex');
      state.devices.set(id, { device_id: id, hostname, status, platform_name: 'Linux' });
      return id;
    },
    actionsFor: (deviceId: string) => state.actions.filter((a) => a.deviceId === deviceId),
    failNext(n: number, status = 429) {
      failures = { n, status };
    },
    loseNextActionAnswers(n: number, status = 502) {
      lostAnswers = { n, status };
    },
    revokeTokens: () => tokens.clear(),
  });
  return api;
}
