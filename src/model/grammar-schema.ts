/*
 * JSON Schema (as zod, OpenAI tools and response_format send it) → the subset node-llama-cpp turns into a
 * GBNF grammar. A grammar guarantees the *shape*; where it cannot express a constraint, the schema is
 * narrowed to a subset that still validates, so a tiny model cannot produce an answer the agent's schema
 * rejects:
 *   - bounded numbers become a choice of evenly spaced values (confidence 0..1 → 0, 0.05, …, 1);
 *   - optional properties are left out (the model writes only required ones);
 *   - strings and arrays get a length cap (so the answer fits in max_tokens).
 * Not enforced (validation after the fact still checks them): string patterns and formats other than
 * date/time, one-sided numeric bounds, multipleOf.
 */

/** A schema in node-llama-cpp's GbnfJsonSchema subset (plain data; all object properties are required). */
export type GrammarSchema =
  | { type: 'string' | 'number' | 'integer' | 'boolean' | 'null' }
  | { type: 'string'; minLength?: number; maxLength?: number }
  | { type: 'string'; format: 'date-time' | 'date' | 'time' }
  | { const: string | number | boolean | null }
  | { enum: (string | number | boolean | null)[] }
  | { oneOf: GrammarSchema[] }
  | { type: 'object'; properties?: Record<string, GrammarSchema>; additionalProperties?: boolean | GrammarSchema }
  | { type: 'array'; items?: GrammarSchema; minItems?: number; maxItems?: number };

/** Caps that keep a constrained answer short enough for a small model and a bounded max_tokens. */
export interface GrammarLimits {
  /** @default 120 */
  maxStringLength: number;
  /** @default 2 */
  maxArrayItems: number;
  /** Intervals a bounded number is split into. @default 20 */
  numberSteps: number;
}

/** Default {@link GrammarLimits}. */
export const DEFAULT_GRAMMAR_LIMITS: GrammarLimits = { maxStringLength: 120, maxArrayItems: 2, numberSteps: 20 };

type Json = Record<string, unknown>;
const ANY: GrammarSchema = {
  oneOf: [
    { type: 'string', maxLength: 120 },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'null' },
    { type: 'object', additionalProperties: true },
    { type: 'array' },
  ],
};
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function boundedNumbers(s: Json, integer: boolean, steps: number): GrammarSchema | undefined {
  const exMin = num(s.exclusiveMinimum);
  const exMax = num(s.exclusiveMaximum);
  const min = num(s.minimum) ?? exMin;
  const max = num(s.maximum) ?? exMax;
  if (min === undefined || max === undefined || max < min) return undefined;
  const values: number[] = [];
  if (integer && max - min <= 100) {
    for (let v = Math.ceil(min); v <= Math.floor(max); v++) values.push(v);
  } else {
    for (let i = 0; i <= steps; i++) {
      const v = min + ((max - min) * i) / steps;
      values.push(integer ? Math.round(v) : Number(v.toPrecision(6)));
    }
  }
  const ok = [...new Set(values)].filter(
    (v) => (exMin === undefined || v > exMin) && (exMax === undefined || v < exMax),
  );
  return ok.length ? { enum: ok } : undefined;
}

/**
 * Converts a JSON Schema to the grammar subset (see the file comment for what is narrowed).
 * Unknown or unrepresentable parts become "any JSON value"; `$ref`s into `$defs`/`definitions` are inlined.
 */
export function toGrammarSchema(schema: unknown, limits: GrammarLimits = DEFAULT_GRAMMAR_LIMITS): GrammarSchema {
  const root = isObj(schema) ? schema : {};
  const defs = { ...(isObj(root.definitions) ? root.definitions : {}), ...(isObj(root.$defs) ? root.$defs : {}) };

  const convert = (s: unknown, depth: number): GrammarSchema => {
    if (!isObj(s) || depth > 12) return ANY;
    if (typeof s.$ref === 'string') {
      const m = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(s.$ref);
      return m?.[1] && isObj(defs[m[1]]) ? convert(defs[m[1]], depth + 1) : ANY;
    }
    if ('const' in s) return { const: s.const as string };
    if (Array.isArray(s.enum)) return { enum: s.enum as string[] };
    const union = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined) as unknown[];
    if (union)
      return union.length === 1 ? convert(union[0], depth + 1) : { oneOf: union.map((u) => convert(u, depth + 1)) };
    if (Array.isArray(s.allOf)) {
      const parts = (s.allOf as unknown[]).filter(isObj);
      const properties: Json = {};
      const required: unknown[] = [];
      for (const p of parts) {
        Object.assign(properties, isObj(p.properties) ? p.properties : {});
        if (Array.isArray(p.required)) required.push(...(p.required as unknown[]));
      }
      const objects = parts.every((p) => p.type === 'object' || isObj(p.properties));
      return objects ? convert({ type: 'object', properties, required }, depth + 1) : ANY;
    }
    const type: unknown = s.type === undefined && isObj(s.properties) ? 'object' : s.type;
    if (Array.isArray(type)) return { oneOf: (type as unknown[]).map((t) => convert({ ...s, type: t }, depth + 1)) };
    switch (type) {
      case 'string': {
        if (s.format === 'date-time' || s.format === 'date' || s.format === 'time')
          return { type: 'string', format: s.format };
        const minLength = Math.max(0, num(s.minLength) ?? 0);
        const maxLength = Math.max(minLength, Math.min(num(s.maxLength) ?? Infinity, limits.maxStringLength));
        return { type: 'string', ...(minLength ? { minLength } : {}), maxLength };
      }
      case 'number':
      case 'integer':
        return boundedNumbers(s, type === 'integer', limits.numberSteps) ?? { type };
      case 'boolean':
      case 'null':
        return { type };
      case 'object': {
        const props = isObj(s.properties) ? s.properties : {};
        const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
        const kept = Object.entries(props).filter(([k]) => required.has(k));
        if (kept.length === 0 && Object.keys(props).length === 0 && s.additionalProperties !== false) {
          const ap = s.additionalProperties;
          return { type: 'object', additionalProperties: isObj(ap) ? convert(ap, depth + 1) : true };
        }
        return { type: 'object', properties: Object.fromEntries(kept.map(([k, v]) => [k, convert(v, depth + 1)])) };
      }
      case 'array': {
        const minItems = Math.max(0, num(s.minItems) ?? 0);
        const maxItems = Math.max(minItems, Math.min(num(s.maxItems) ?? Infinity, limits.maxArrayItems));
        return { type: 'array', items: convert(s.items ?? {}, depth + 1), ...(minItems ? { minItems } : {}), maxItems };
      }
      default:
        return ANY;
    }
  };
  return convert(root, 0);
}

/**
 * A compact, human-readable signature of a grammar schema for the prompt, e.g.
 * `{"host": string, "confidence": number 0..1}` — small models follow a short signature better than JSON Schema.
 */
export function describeGrammarSchema(s: GrammarSchema): string {
  if ('const' in s) return JSON.stringify(s.const);
  if ('enum' in s) {
    const nums = s.enum.filter((v): v is number => typeof v === 'number');
    if (nums.length > 5 && nums.length === s.enum.length) return `number ${Math.min(...nums)}..${Math.max(...nums)}`;
    return s.enum.map((v) => JSON.stringify(v)).join('|');
  }
  if ('oneOf' in s) return s.oneOf.map(describeGrammarSchema).join(' or ');
  if (s.type === 'object' && 'properties' in s && s.properties) {
    const fields = Object.entries(s.properties).map(([k, v]) => `${JSON.stringify(k)}: ${describeGrammarSchema(v)}`);
    return `{${fields.join(', ')}}`;
  }
  if (s.type === 'object') return 'object';
  if (s.type === 'array') return `[${'items' in s && s.items ? describeGrammarSchema(s.items) : 'any'}, …]`;
  return s.type;
}
