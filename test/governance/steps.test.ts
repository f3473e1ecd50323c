import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ExpressionError, evaluate, render, scopeNamesRead, truthy } from '../../src/governance/expressions';
import { formatIssues } from '../../src/governance/issues';
import { Playbook } from '../../src/governance/steps';

describe('step model', () => {
  it('parses every shipped example playbook', () => {
    const dir = path.join(__dirname, '..', '..', 'playbooks', 'examples');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const parsed = Playbook.safeParse(YAML.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
      expect({ f, problems: parsed.success ? '' : formatIssues(parsed.error) }).toEqual({ f, problems: '' });
    }
  });

  it('rejects duplicate ids, bad expressions and unknown kinds with paths', () => {
    const r = Playbook.safeParse({
      name: 'bad',
      steps: [
        { id: 'a', kind: 'action', tool: 't' },
        { id: 'b', kind: 'branch', when: 'x ==', then: [{ id: 'a', kind: 'action', tool: 't' }] },
        { id: 'c', kind: 'teleport' },
        { id: 'D!', kind: 'approval', title: 'x', tier: 1 },
      ],
    });
    expect(r.success).toBe(false);
    const msg = formatIssues(r.error!);
    expect(msg).toMatch(/steps.1.when: invalid JMESPath expression "x =="/);
    expect(msg).toMatch(/steps.2.kind/);
    expect(msg).toMatch(/steps.3.id: step ids are lower-case/);
  });

  it('reports duplicate step ids across nesting', () => {
    const r = Playbook.safeParse({
      name: 'dup',
      steps: [
        { id: 'a', kind: 'action', tool: 't' },
        { id: 'b', kind: 'forEach', items: 'input.xs', steps: [{ id: 'a', kind: 'action', tool: 't' }] },
      ],
    });
    expect(r.success).toBe(false);
    expect(formatIssues(r.error!)).toMatch(/step id "a" is used twice/);
  });

  it('refuses up front a playbook whose steps would not fit in one run history, and says what to do', () => {
    const flat = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `s${i}`, kind: 'action', tool: 't' }));
    const big = Playbook.safeParse({ name: 'huge', steps: flat(5_000) });
    expect(big.success).toBe(false);
    expect(formatIssues(big.error!)).toMatch(
      /steps: 5000 steps run in one workflow history; at most 1000 fit .* split the playbook, or move repeated work into a forEach/,
    );
    // Branch arms count; a forEach's inner steps run in child batches and do not.
    const nested = Playbook.safeParse({
      name: 'nested',
      steps: [
        {
          id: 'b',
          kind: 'branch',
          when: 'x',
          then: flat(600),
          else: flat(600).map((st) => ({ ...st, id: `e${st.id}` })),
        },
      ],
    });
    expect(nested.success).toBe(false);
    const fanOut = Playbook.safeParse({
      name: 'fan-out',
      steps: [{ id: 'each', kind: 'forEach', items: 'input.xs', steps: flat(1_500) }],
    });
    expect(fanOut.success).toBe(true);
    expect(Playbook.safeParse({ name: 'ok', steps: flat(1_000) }).success).toBe(true);
  });
});

describe('expressions', () => {
  const data = { input: { host: 'web-01', ports: [22, 443] }, steps: { lookup: { criticality: 'critical' } } };
  it('renders whole-value expressions with their type and embedded ones as text', () => {
    expect(
      render(
        { host: '{{ input.host }}', ports: '{{ input.ports }}', note: 'host {{ input.host }} has {{ input.ports }}' },
        data,
      ),
    ).toEqual({
      host: 'web-01',
      ports: [22, 443],
      note: 'host web-01 has [22,443]',
    });
  });
  it('reads a string that starts and ends with expressions as text with two values, not as one expression', () => {
    expect(render('{{ input.host }} {{ steps.lookup.criticality }}', data)).toBe('web-01 critical');
    expect(render('{{ input.ports }}{{ input.host }}', data)).toBe('[22,443]web-01');
    expect(render('{{ {h: input.host} }}', data)).toEqual({ h: 'web-01' });
  });
  it('never evaluates anything but JMESPath: JavaScript in a template stays text or fails', () => {
    expect(render('{{ `process.exit(1)` }}', data)).toBe('process.exit(1)');
    expect(() => render('{{ require("fs") }}', data)).toThrow(ExpressionError);
  });
  it('uses JMESPath truthiness for conditions', () => {
    expect(truthy(evaluate("steps.lookup.criticality == 'critical'", data))).toBe(true);
    expect([[], {}, '', null, false].map(truthy)).toEqual([false, false, false, false, false]);
    expect(truthy(evaluate('input.missing', data))).toBe(false);
  });
});

describe('scopeNamesRead: what a batch of steps may read of the run scope', () => {
  it('collects the names its templates and raw expressions read, at any depth', () => {
    const steps = [
      { id: 'a', kind: 'action', tool: 'asset_lookup', args: { host: '{{ item }}', note: 'x {{ steps.first.id }}' } },
      { id: 'b', kind: 'forEach', items: 'input.hosts', steps: [] },
      { id: 'c', kind: 'approval', title: 'Go ahead?' },
    ];
    const names = scopeNamesRead(steps)!;
    expect(names.has('item')).toBe(true);
    expect(names.has('steps')).toBe(true);
    expect(names.has('input')).toBe(true);
    expect(scopeNamesRead([{ args: { host: '{{ item }}' }, title: 'Isolate {{ item.name }}' }])!.has('input')).toBe(
      false,
    );
  });

  it('answers "everything" for expressions that read the whole scope or do not parse', () => {
    expect(scopeNamesRead({ args: { all: '{{ @ }}' } })).toBeUndefined();
    expect(scopeNamesRead({ args: { values: '{{ *.hosts }}' } })).toBeUndefined();
    expect(scopeNamesRead({ args: { keys: '{{ keys(@) }}' } })).toBeUndefined();
    expect(scopeNamesRead({ args: { broken: '{{ input.[ }}' } })).toBeUndefined();
  });
});
