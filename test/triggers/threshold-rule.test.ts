import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Playbook } from '../../src/governance/steps';
import { playbookResolver } from '../../src/triggers/playbook-source';
import { compileThresholdRules, loadThresholdRulesFile } from '../../src/triggers/threshold-rule';

const playbook: Playbook = {
  name: 'lock-account',
  steps: [{ id: 'note', kind: 'action', tool: 'ticket_create', args: { title: 'x' }, context: {}, onError: 'fail' }],
};
const noFiles = () => {
  throw new Error('no playbook files in this test');
};
const base = {
  id: 'failed-logins',
  stream: 'auth',
  match: "outcome == 'failure'",
  key: 'user',
  threshold: 5,
  window: '10m',
  playbook,
};

describe('threshold rules', () => {
  it('compiles a rule with defaults: cooldown = window, dedupe 24h, attach min(N, 10), default input', () => {
    const [r] = compileThresholdRules([base], noFiles);
    expect(r).toMatchObject({
      id: 'failed-logins',
      windowMs: 600_000,
      cooldownMs: 600_000,
      dedupeForMs: 86_400_000,
      attach: 5,
      input: { key: '{{ key }}', breach: '{{ breach }}', events: '{{ events }}' },
    });
    expect(r!.digest).toMatch(/^[0-9a-f]{12}$/);
  });

  it('gives a changed rule a different digest (a new entity counts afresh)', () => {
    const [a] = compileThresholdRules([base], noFiles);
    const [b] = compileThresholdRules([{ ...base, threshold: 6 }], noFiles);
    const [c] = compileThresholdRules([base], noFiles);
    expect(a!.digest).not.toBe(b!.digest);
    expect(a!.digest).toBe(c!.digest);
  });

  it('lists every problem at once and loads nothing', () => {
    const bad = () =>
      compileThresholdRules(
        [
          { ...base, key: 'user[' },
          { ...base, id: 'Bad Id', window: 'soon' },
          { ...base, id: 'dup' },
          { ...base, id: 'dup', input: { who: '{{ key[ }}' } },
          { ...base, id: 'no-playbook', playbook: 'no-such-playbook' },
        ],
        playbookResolver({ bundled: {} }),
      );
    expect(bad).toThrow(/"failed-logins": key: does not parse as JMESPath/);
    expect(bad).toThrow(/"Bad Id": id: must be kebab-case.*window: must be a duration/);
    expect(bad).toThrow(/"dup": the id is used twice/);
    expect(bad).toThrow(/input expression "key\[" does not parse/);
    expect(bad).toThrow(/"no-playbook": unknown playbook "no-such-playbook"/);
  });

  it('refuses thresholds, windows and cooldowns out of range', () => {
    expect(() => compileThresholdRules([{ ...base, threshold: 0 }], noFiles)).toThrow(/threshold/);
    expect(() => compileThresholdRules([{ ...base, window: '500ms' }], noFiles)).toThrow(/window: must be between/);
    expect(() => compileThresholdRules([{ ...base, window: '30d' }], noFiles)).toThrow(/window: must be between/);
    expect(() => compileThresholdRules([{ ...base, surprise: true }], noFiles)).toThrow(/surprise/);
  });

  it('loads a rules file whose playbook path is relative to the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-rules-'));
    fs.writeFileSync(path.join(dir, 'lock.yaml'), JSON.stringify(playbook));
    fs.writeFileSync(
      path.join(dir, 'rules.yaml'),
      [
        'rules:',
        '  - id: failed-logins',
        '    stream: auth',
        '    key: user',
        '    threshold: 5',
        '    window: 10m',
        '    playbook: ./lock.yaml',
      ].join('\n'),
    );
    const [r] = loadThresholdRulesFile(path.join(dir, 'rules.yaml'), playbookResolver({ bundled: {} }));
    expect(r!.playbook.name).toBe('lock-account');
  });
});
