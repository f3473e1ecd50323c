import Ajv from 'ajv';
import type { ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import { neutralizeUntrusted } from '../governance/untrusted';

/*
 * An MCP tool's JSON Schemas as zod schemas, so MCP tools go through exactly the checks built-in tools
 * do (decideAction before policy, executeTool before and after the call). Validation is ajv's on the
 * schema the server published (and the operator pinned); the zod schema carries a copy for the model's
 * tool list, with the server's free-text descriptions neutralised (they are untrusted text).
 */

function ajvFor(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, addUsedSchema: false, validateSchema: true });
  addFormats(ajv);
  return ajv;
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`)
    .join('; ');
}

/** The schema with `$schema` dropped (ajv validates draft-07 and 2020-12 keywords alike with strict off). */
function compilable(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

/** Descriptions and titles in a server's schema, as the model may see them: one neutralised line each. */
export function neutralizedSchema(schema: unknown, max = 200): unknown {
  if (Array.isArray(schema)) return schema.map((s) => neutralizedSchema(s, max));
  if (!schema || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema as Record<string, unknown>).map(([k, v]) => [
      k,
      (k === 'description' || k === 'title') && typeof v === 'string'
        ? neutralizeUntrusted(v, max)
        : neutralizedSchema(v, max),
    ]),
  );
}

/**
 * A zod schema that accepts exactly what `schema` (a JSON Schema object) accepts.
 * @throws Error when the JSON Schema does not compile (the tool is then not offered).
 */
export function zodFromJsonSchema(schema: unknown, what: string): z.ZodType {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema))
    throw new Error(`${what} is not a JSON Schema object`);
  const validate = ajvFor().compile(compilable(schema as Record<string, unknown>));
  return z
    .custom<Record<string, unknown>>()
    .superRefine((value, ctx) => {
      if (!validate(value))
        ctx.addIssue({ code: 'custom', message: `does not match ${what}: ${describe(validate.errors)}` });
    })
    .meta(neutralizedSchema(compilable(schema as Record<string, unknown>)) as Record<string, unknown>);
}
