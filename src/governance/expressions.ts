import jmespath from 'jmespath';

/*
 * Expressions over earlier step outputs, in JMESPath: synchronous and pure, so they run in workflow code
 * (unlike JSONata 2.x, whose evaluate() returns a Promise that is always truthy).
 */

/** Data an expression sees: the run input, earlier step outputs by id, and the current forEach item. */
export interface ExpressionScope {
  input: unknown;
  steps: Record<string, unknown>;
  item?: unknown;
  index?: number;
  /**
   * The run's own record, for case output: ids, and (top level) its decisions, steps and agent turns; in
   * `finally` steps also how the main steps ended (`outcome`: completed, failed or cancelled; `failure`).
   */
  run?: {
    workflowId: string;
    initiator: string;
    decisions?: unknown[];
    steps?: unknown[];
    agentTurns?: unknown[];
    outcome?: string;
    failure?: { type: string; message: string };
  };
}

/** Thrown for an expression that does not parse or cannot be evaluated; names the expression. */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

/** Evaluates a JMESPath expression. @throws ExpressionError naming the expression and the problem. */
export function evaluate(expression: string, data: unknown): unknown {
  try {
    return jmespath.search(data, expression) as unknown;
  } catch (err) {
    throw new ExpressionError(`expression "${expression}": ${(err as Error).message}`);
  }
}

/** JMESPath truthiness: false, null, empty string, empty array and empty object are false. */
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

const WHOLE = /^\{\{\s*([\s\S]+?)\s*\}\}$/;
const EMBEDDED = /\{\{\s*([\s\S]+?)\s*\}\}/g;

/**
 * Renders a template value: a string that is exactly `{{ expr }}` becomes the expression's value (any
 * type); `{{ expr }}` inside a longer string is interpolated as text; objects and arrays are rendered
 * recursively. Nothing else is evaluated: a value is data, never code.
 */
export function render(template: unknown, data: unknown): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE.exec(template);
    // `{{ a }} {{ b }}` also starts with {{ and ends with }}: it is two embedded expressions, not one (no
    // JMESPath expression contains `{{`, so a body with one spans two templates).
    // A copy, never a reference into live state: arguments must not change after policy has seen them.
    if (whole?.[1] && !whole[1].includes('{{'))
      return JSON.parse(JSON.stringify(evaluate(whole[1], data) ?? null)) as unknown;
    if (!template.includes('{{')) return template;
    return template.replace(EMBEDDED, (_m, expr: string) => {
      const v = evaluate(expr, data);
      return v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(template)) return template.map((t) => render(t, data));
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, render(v, data)]));
  }
  return template;
}

/** A node of jmespath's parse tree (the library's `compile`, which its type declarations omit). */
interface AstNode {
  type: string;
  children?: AstNode[];
}
const compileAst = (jmespath as unknown as { compile: (this: void, expression: string) => AstNode }).compile;

/**
 * JMESPath binds `!` tighter than `.`: `!run.agent` reads `(!run).agent`, which is null for every input,
 * so a rule written that way silently never applies. Such a negation read through is refused at load.
 */
function negationReadThrough(node: AstNode): boolean {
  const children = node.children ?? [];
  if ((node.type === 'Subexpression' || node.type === 'IndexExpression') && children[0]?.type === 'NotExpression')
    return true;
  return children.some((c) => typeof c === 'object' && c !== null && negationReadThrough(c));
}

/** Checks that an expression parses and reads as written, for load-time validation of playbooks and policies. */
export function compiles(expression: string): string | undefined {
  let ast: AstNode;
  try {
    ast = compileAst(expression);
  } catch (err) {
    return (err as Error).message;
  }
  return negationReadThrough(ast)
    ? `"${expression}" negates before it reads a field (JMESPath reads !a.b as (!a).b, always null): write !(a.b)`
    : undefined;
}

/** Every field name an expression's parse tree reads, and whether it reads the whole scope (`@`, `*`). */
function fieldsOf(node: AstNode, into: Set<string>): boolean {
  let whole = node.type === 'Current' || node.type === 'ValueProjection';
  if (node.type === 'Field') into.add((node as AstNode & { name: string }).name);
  for (const c of node.children ?? []) if (typeof c === 'object' && c !== null && fieldsOf(c, into)) whole = true;
  return whole;
}

/**
 * The top-level scope names (`input`, `steps`, `run`, …) that the expressions and templates anywhere in
 * `value` (steps, their arguments, conditions) may read — an over-approximation: every field name any
 * expression mentions, at any depth. `undefined` when they may read the whole scope (`@`, `*`, or a
 * template that does not parse), so the caller must keep everything.
 */
export function scopeNamesRead(value: unknown): Set<string> | undefined {
  const names = new Set<string>();
  const visit = (v: unknown): boolean => {
    if (typeof v === 'string') {
      const expressions = v.includes('{{') ? [...v.matchAll(EMBEDDED)].map((m) => m[1]!) : [v];
      if (v.includes('{{') && expressions.length === 0) return false;
      for (const e of expressions) {
        let ast: AstNode;
        try {
          ast = compileAst(e);
        } catch {
          if (v.includes('{{')) return false; // a template that does not parse: assume the worst
          continue; // plain text (a title, a reason) is not an expression
        }
        if (fieldsOf(ast, names)) return false;
      }
      return true;
    }
    if (Array.isArray(v)) return v.every(visit);
    if (v && typeof v === 'object') return Object.values(v).every(visit);
    return true;
  };
  return visit(value) ? names : undefined;
}
