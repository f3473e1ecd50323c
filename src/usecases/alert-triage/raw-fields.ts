/**
 * Reading fields out of untyped vendor payloads. Every accessor accepts anything and never throws: a field
 * that is missing or of another type reads as undefined, so one odd alert cannot fail normalization.
 */

/** A JSON object (not an array, not null). */
export type JsonRecord = Record<string, unknown>;

/** Whether a value is a JSON object (not an array, not null). */
export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a path of keys and array indexes, or undefined when any step is missing. */
export function at(value: unknown, ...path: Array<string | number>): unknown {
  let current = value;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      if (!isRecord(current) || !Object.prototype.hasOwnProperty.call(current, step)) return undefined;
      current = current[step];
    }
  }
  return current;
}

// Each object's keys by lower case, built once: parsers probe many keys of one (possibly huge) payload.
const LOWER_KEYS = new WeakMap<JsonRecord, Map<string, string>>();
function lowerKeys(record: JsonRecord): Map<string, string> {
  let map = LOWER_KEYS.get(record);
  if (!map) {
    map = new Map();
    for (const k of Object.keys(record)) if (!map.has(k.toLowerCase())) map.set(k.toLowerCase(), k);
    LOWER_KEYS.set(record, map);
  }
  return map;
}

/**
 * Like {@link at}, but each key matches case-insensitively (an exact match wins): some pipelines lower-case
 * vendor keys (Panther's SentinelOne activities have `computername`, the API `computerName`).
 */
export function atCi(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const step of path) {
    if (!isRecord(current)) return undefined;
    if (Object.prototype.hasOwnProperty.call(current, step)) {
      current = current[step];
      continue;
    }
    const key = lowerKeys(current).get(step.toLowerCase());
    if (key === undefined) return undefined;
    current = current[key];
  }
  return current;
}

/** A trimmed non-empty string from a string or finite number; undefined otherwise. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The first argument that reads as {@link text}. */
export function firstText(...values: unknown[]): string | undefined {
  for (const value of values) {
    const t = text(value);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** A finite number from a number or numeric string; undefined otherwise. */
export function num(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** The value as a list: an array as is, a missing value as [], anything else as a one-item list. */
export function list(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

/** Every {@link text} in a value or list of values, deduplicated, in first-seen order. */
export function texts(...values: unknown[]): string[] {
  const out = new Set<string>();
  for (const value of values) {
    for (const item of list(value)) {
      const t = text(item);
      if (t !== undefined) out.add(t);
    }
  }
  return [...out];
}

/** Parses a JSON string that holds a list (Defender's `AttackTechniques`); [] when it is not one. */
export function jsonList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

const MIN_TIME = Date.UTC(1990, 0, 1);
const MAX_TIME = Date.UTC(2200, 0, 1);
// "2024-12-03 19:54:30.000000000", "2018-02-09T21:32:13.120749+0000", "2022-11-17T19:17:42.694+0200", "...Z"
const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

function isoIfValid(ms: number): string | undefined {
  return Number.isFinite(ms) && ms >= MIN_TIME && ms < MAX_TIME ? new Date(ms).toISOString() : undefined;
}

/**
 * A vendor timestamp as ISO 8601 UTC, or undefined when it is not one. Accepts epoch seconds or
 * milliseconds (numbers or numeric strings), ISO 8601 and the common "date time" forms with any number of
 * fractional digits and with or without an offset (a time without an offset is taken as UTC, as the vendors
 * here emit it), and RFC 2822 dates.
 */
export function isoTime(value: unknown): string | undefined {
  const n = num(value);
  if (n !== undefined) return isoIfValid(n >= 1e12 ? n : n * 1000);
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  const m = DATE_TIME.exec(s);
  if (m) {
    const [, date, hh = '00', mm = '00', ss = '00', fraction = '', zone] = m;
    const ms = fraction.padEnd(3, '0').slice(0, 3);
    let offset = 'Z';
    if (zone && /^[+-]/.test(zone)) {
      const digits = zone.replace(':', '');
      offset = `${digits.slice(0, 3)}:${digits.slice(3, 5).padEnd(2, '0')}`;
    }
    return isoIfValid(Date.parse(`${date}T${hh}:${mm}:${ss}.${ms}${offset}`));
  }
  // RFC 2822 and similar; only with a four-digit year, so "Jun 04 09:30:10" is not guessed into a year.
  return /\b\d{4}\b/.test(s) && /[a-z]{3}/i.test(s) ? isoIfValid(Date.parse(s)) : undefined;
}

/** The first argument that reads as {@link isoTime}. */
export function firstTime(...values: unknown[]): string | undefined {
  for (const value of values) {
    const t = isoTime(value);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** ATT&CK technique ids (T1218, T1562.007) found in the given strings, deduplicated. */
export function techniqueIds(...values: unknown[]): string[] {
  const out = new Set<string>();
  for (const value of texts(...values)) {
    for (const match of value.matchAll(/\bT\d{4}(?:\.\d{3})?\b/g)) out.add(match[0]);
  }
  return [...out];
}
