import { z } from 'zod';
import { describeGrammarSchema, toGrammarSchema } from '../../src/model/grammar-schema';
import { TriageVerdict } from '../../src/usecases/alert-triage/agent';

describe('JSON Schema → grammar schema (local model)', () => {
  const verdict = toGrammarSchema(z.toJSONSchema(TriageVerdict, { unrepresentable: 'any' }));

  it('turns a bounded number into evenly spaced values that all pass the original schema', () => {
    const confidence = (verdict as { properties: Record<string, { enum: number[] }> }).properties.confidence;
    expect(confidence?.enum).toHaveLength(21);
    expect(confidence?.enum).toEqual(expect.arrayContaining([0, 0.05, 0.5, 1]));
    for (const c of confidence?.enum ?? []) expect(z.number().min(0).max(1).safeParse(c).success).toBe(true);
  });

  it('caps strings and arrays so an answer fits in max_tokens, keeping minimums', () => {
    const props = (verdict as { properties: Record<string, unknown> }).properties;
    expect(props.rationale).toEqual({ type: 'string', minLength: 1, maxLength: 120 });
    expect(props.recommendedActions).toMatchObject({ type: 'array', maxItems: 2 });
    expect(toGrammarSchema({ type: 'string', minLength: 300 })).toEqual({
      type: 'string',
      minLength: 300,
      maxLength: 300,
    });
  });

  it('leaves optional properties out and keeps required ones', () => {
    const s = toGrammarSchema(
      z.toJSONSchema(z.object({ indicator: z.string(), type: z.enum(['ip', 'domain']).optional() }), { io: 'input' }),
    );
    expect(s).toEqual({ type: 'object', properties: { indicator: { type: 'string', maxLength: 120 } } });
  });

  it('inlines $refs and turns nullable and multi-type schemas into alternatives', () => {
    const s = toGrammarSchema({
      $defs: { host: { type: 'string', maxLength: 10 } },
      type: 'object',
      properties: { a: { $ref: '#/$defs/host' }, b: { anyOf: [{ type: 'integer' }, { type: 'null' }] } },
      required: ['a', 'b'],
    });
    expect(s).toEqual({
      type: 'object',
      properties: {
        a: { type: 'string', maxLength: 10 },
        b: { oneOf: [{ type: 'integer' }, { type: 'null' }] },
      },
    });
    expect(toGrammarSchema({ type: ['string', 'null'] })).toEqual({
      oneOf: [{ type: 'string', maxLength: 120 }, { type: 'null' }],
    });
  });

  it('enumerates small integer ranges exactly and excludes exclusive bounds', () => {
    expect(toGrammarSchema({ type: 'integer', minimum: 1, maximum: 5 })).toEqual({ enum: [1, 2, 3, 4, 5] });
    const s = toGrammarSchema({ type: 'number', exclusiveMinimum: 0, maximum: 1 }) as { enum: number[] };
    expect(s.enum).not.toContain(0);
    expect(s.enum).toContain(1);
  });

  it('describes a schema as a short signature for the prompt', () => {
    expect(describeGrammarSchema(verdict)).toBe(
      '{"verdict": "benign"|"suspicious"|"malicious", "confidence": number 0..1, "rationale": string, ' +
        '"recommendedActions": [{"action": "isolate_host"|"disable_user"|"block_indicator"|"none", "target": string, "reason": string}, …]}',
    );
  });
});
