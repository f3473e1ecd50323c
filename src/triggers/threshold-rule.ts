import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import canonicalize from 'canonicalize';
import ms from 'ms';
import YAML from 'yaml';
import { z } from 'zod';
import { UserError } from '../errors';
import { compiles } from '../governance/expressions';
import { formatIssues } from '../governance/issues';
import { Playbook } from '../governance/steps';
import type { PlaybookResolver } from './playbook-source';
import type { CompiledThresholdRule } from './threshold-contract';

/*
 * Threshold rules are data: "N matching events per key within a window fire a playbook once per breach".
 * This module validates them (every expression must parse, durations must be sane) and compiles them
 * into the form the ingest and the entity workflow use: durations in ms, the playbook inline, a digest.
 */

/** Stream names (the `:stream` of `POST /v1/events/:stream`). */
export const STREAM_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const duration = (min: number, max: number) =>
  z
    .string()
    .refine((v) => typeof ms(v as ms.StringValue) === 'number', {
      message: 'must be a duration like 30s, 10m, 4h or 2d',
    })
    .refine(
      (v) => {
        const n = ms(v as ms.StringValue);
        return n >= min && n <= max;
      },
      { message: `must be between ${ms(min, { long: true })} and ${ms(max, { long: true })}` },
    );

const expression = z
  .string()
  .min(1)
  .max(500)
  .superRefine((e, ctx) => {
    const problem = compiles(e);
    if (problem) ctx.addIssue({ code: 'custom', message: `does not parse as JMESPath: ${problem}` });
  });

const DAY = 86_400_000;

/** A threshold rule as a use case or an operator writes it (YAML or code). */
export const ThresholdRule = z
  .object({
    /** kebab-case, unique; part of workflow ids. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'must be kebab-case (a-z, 0-9, -), at most 48 characters'),
    description: z.string().max(500).optional(),
    /** The event stream it watches. */
    stream: z.string().regex(STREAM_NAME, 'must be a stream name (a-z, 0-9, _ and -)'),
    /** JMESPath over the event; the event counts when the result is truthy. Absent: every event counts. */
    match: expression.optional(),
    /** JMESPath over the event giving the key to count per (a string or number), e.g. `user.name`. */
    key: expression,
    /** N. */
    threshold: z.number().int().min(1).max(1000),
    window: duration(1000, 7 * DAY),
    /** No second breach for the same key until this long after a breach's last event. @default the window */
    cooldown: duration(0, 30 * DAY).optional(),
    /** How long event ids are remembered to drop retried deliveries. @default 24h */
    dedupeFor: duration(1000, 30 * DAY).default('24h'),
    /** Events attached to the run in full (the newest of the breach). @default min(threshold, 10) */
    attach: z.number().int().min(1).max(20).optional(),
    /** A bundled playbook name, a playbook file, or the playbook itself. */
    playbook: z.union([z.string().min(1).max(500), Playbook]),
    /**
     * The run's input, rendered over `{ rule: {id, description}, key, events, breach: {start, end, count} }`.
     * @default { key, breach, events }
     */
    input: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
/** A threshold rule as written. */
export type ThresholdRule = z.input<typeof ThresholdRule>;

/** A file of threshold rules: `rules: [...]`. */
export const ThresholdRulesFile = z.object({ rules: z.array(z.unknown()) }).strict();

const DEFAULT_INPUT = { key: '{{ key }}', breach: '{{ breach }}', events: '{{ events }}' };

function templateExpressions(template: unknown, out: string[] = []): string[] {
  if (typeof template === 'string') {
    for (const m of template.matchAll(/\{\{\s*([\s\S]+?)\s*\}\}/g)) if (m[1]) out.push(m[1]);
  } else if (Array.isArray(template)) template.forEach((t) => templateExpressions(t, out));
  else if (template && typeof template === 'object')
    Object.values(template).forEach((t) => templateExpressions(t, out));
  return out;
}

/**
 * Validates and compiles rules: parses each, checks ids are unique, resolves playbooks, checks the input
 * template's expressions.
 * @throws UserError listing every problem (which rule, which field, what to do); nothing is half-loaded.
 */
export function compileThresholdRules(rules: unknown[], resolvePlaybook: PlaybookResolver): CompiledThresholdRule[] {
  const problems: string[] = [];
  const out: CompiledThresholdRule[] = [];
  const ids = new Set<string>();
  rules.forEach((raw, i) => {
    const parsed = ThresholdRule.safeParse(raw);
    const label = `threshold rule ${typeof (raw as { id?: unknown })?.id === 'string' ? `"${(raw as { id: string }).id}"` : `#${i + 1}`}`;
    if (!parsed.success) {
      problems.push(`${label}: ${formatIssues(parsed.error, '(rule)')}`);
      return;
    }
    const r = parsed.data;
    if (ids.has(r.id)) problems.push(`${label}: the id is used twice; rule ids must be unique`);
    ids.add(r.id);
    let playbook: Playbook;
    try {
      playbook = typeof r.playbook === 'string' ? resolvePlaybook(r.playbook) : r.playbook;
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message}`);
      return;
    }
    const input = r.input ?? DEFAULT_INPUT;
    for (const e of templateExpressions(input)) {
      const problem = compiles(e);
      if (problem) problems.push(`${label}: input expression "${e}" does not parse as JMESPath: ${problem}`);
    }
    const windowMs = ms(r.window as ms.StringValue);
    const body = {
      id: r.id,
      ...(r.description ? { description: r.description } : {}),
      stream: r.stream,
      ...(r.match ? { match: r.match } : {}),
      key: r.key,
      threshold: r.threshold,
      windowMs,
      cooldownMs: r.cooldown === undefined ? windowMs : ms(r.cooldown as ms.StringValue),
      dedupeForMs: ms(r.dedupeFor as ms.StringValue),
      attach: r.attach ?? Math.min(r.threshold, 10),
      playbook,
      input,
    };
    const digest = createHash('sha256').update(canonicalize(body)!).digest('hex').slice(0, 12);
    out.push({ ...body, digest });
  });
  if (problems.length) throw new UserError(`invalid threshold rules — ${problems.join('; ')}`);
  return out;
}

/**
 * Loads `rules:` from a YAML or JSON file; playbook paths in it are relative to the file.
 * @throws UserError naming the file and every problem.
 */
export function loadThresholdRulesFile(file: string, resolvePlaybook: PlaybookResolver): CompiledThresholdRule[] {
  let data: unknown;
  try {
    data = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`cannot load threshold rules from ${file}: ${code ?? (err as Error).message}`);
  }
  const parsed = ThresholdRulesFile.safeParse(data);
  if (!parsed.success) throw new UserError(`threshold rules file ${file}: ${formatIssues(parsed.error, '(file)')}`);
  const dir = path.dirname(path.resolve(file));
  return compileThresholdRules(parsed.data.rules, (ref) =>
    /[/\\]|\.(ya?ml|json)$/i.test(ref) ? resolvePlaybook(path.resolve(dir, ref)) : resolvePlaybook(ref),
  );
}
