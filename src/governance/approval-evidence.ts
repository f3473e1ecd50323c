/*
 * What an approver is shown about an action, derived from the action itself: the targets it touches (a
 * host with its device id where the arguments or context carry one, a user, an indicator) and its
 * arguments or details, bounded. Pure and workflow-safe: the approval gate calls it when it opens an
 * approval, so `pendingApprovals`, notifications and the CLI all show the same evidence.
 */

/** One thing an action acts on. */
export interface ApprovalTarget {
  /** host | user | ip | domain | url | sha256 | md5 | email | indicator | device. */
  kind: string;
  value: string;
  /** The vendor's device id of a host, where the arguments, the context or the details carry one. */
  deviceId?: string;
}

/** The evidence the gate attaches to a pending approval, besides policy's decision. */
export interface ApprovalEvidence {
  /** Approval steps: the rendered title. */
  title?: string;
  /** Actions: the exact tool arguments (bounded). */
  args?: unknown;
  /** Approval steps: the details the playbook attached (bounded). */
  details?: unknown;
  /** What approving unlocks: the action that will run, or the steps the run continues with. */
  unlocks?: string;
  targets?: ApprovalTarget[];
}

/** Longest JSON of `args` or `details` kept on a pending approval; longer values become a cut string. */
export const MAX_EVIDENCE_CHARS = 4_000;

const HOST_KEYS = ['hostname', 'host', 'computerName', 'deviceName'];
const DEVICE_KEYS = ['deviceId', 'device_id', 'aid', 'agentId'];
const USER_KEYS = ['user', 'username', 'userName', 'login', 'email'];
const INDICATOR_KINDS = ['ip', 'domain', 'url', 'sha256', 'md5', 'sha1', 'email'];

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined;

function firstOf(o: Record<string, unknown>, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = text(o[k]);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Every plain object inside `value` (depth-limited), the value itself first. */
function objects(value: unknown, depth = 4, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (depth < 0 || out.length > 500 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    for (const v of value) objects(v, depth - 1, out);
    return out;
  }
  out.push(value as Record<string, unknown>);
  for (const v of Object.values(value)) objects(v, depth - 1, out);
  return out;
}

/** The targets one object names directly (not its nested values). */
function targetsOf(o: Record<string, unknown>): ApprovalTarget[] {
  const found: ApprovalTarget[] = [];
  const host = firstOf(o, HOST_KEYS);
  const device = firstOf(o, DEVICE_KEYS);
  if (host !== undefined) found.push({ kind: 'host', value: host, ...(device ? { deviceId: device } : {}) });
  else if (device !== undefined) found.push({ kind: 'device', value: device, deviceId: device });
  const user = firstOf(o, USER_KEYS);
  if (user !== undefined) found.push({ kind: 'user', value: user });
  const type = text(o.type) ?? text(o.indicatorType);
  const indicator = text(o.indicator) ?? text(o.value);
  if (indicator !== undefined && type !== undefined && INDICATOR_KINDS.includes(type))
    found.push({ kind: type, value: indicator });
  for (const k of ['ip', 'domain', 'url']) {
    const v = text(o[k]);
    if (v !== undefined && !(k === 'url' && found.some((t) => t.value === v))) found.push({ kind: k, value: v });
  }
  return found;
}

/**
 * The targets of an action: those its arguments name (or, for an approval step, its details), each host
 * completed with its device id when the arguments, context or details carry one for that hostname.
 * Deduplicated, at most 50.
 */
export function approvalTargets(source: unknown, ...lookups: unknown[]): ApprovalTarget[] {
  const devices = new Map<string, string>();
  for (const o of [source, ...lookups].flatMap((v) => objects(v))) {
    const host = firstOf(o, HOST_KEYS);
    const device = firstOf(o, DEVICE_KEYS);
    if (host !== undefined && device !== undefined && !devices.has(host)) devices.set(host, device);
  }
  const seen = new Set<string>();
  const out: ApprovalTarget[] = [];
  for (const t of objects(source).flatMap(targetsOf)) {
    if (t.kind === 'host' && !t.deviceId && devices.has(t.value)) t.deviceId = devices.get(t.value);
    const key = `${t.kind}\u0000${t.value}\u0000${t.deviceId ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
    if (out.length >= 50) break;
  }
  return out;
}

/** `value` when its JSON fits in `max` characters, else its JSON cut to `max` and marked. */
export function boundedEvidence(value: unknown, max = MAX_EVIDENCE_CHARS): unknown {
  const json = JSON.stringify(value);
  if (json === undefined || json.length <= max) return value;
  return `${json.slice(0, max)}…[truncated ${json.length - max} chars]`;
}

/** A target for humans: `host dc-01 (device 0a1b…)`. Values are untrusted: callers neutralise them. */
export function targetLabel(t: ApprovalTarget): string {
  return `${t.kind} ${t.value}${t.deviceId && t.kind !== 'device' ? ` (device ${t.deviceId})` : ''}`;
}
