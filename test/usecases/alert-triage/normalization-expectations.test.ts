import fs from 'node:fs';
import path from 'node:path';
import { NormalizedAlert, normalizeAlert } from '../../../src/usecases/alert-triage';
import type { NormalizationExpectation } from '../../../src/usecases/alert-triage/normalization-scoring';
import { gradeNormalization, gradeTotals } from '../../../src/usecases/alert-triage/normalization-scoring';
import { describeWithSharedData, readJson } from '../../harness/shared-data';

const EXPECTATIONS = path.join(__dirname, '..', '..', 'fixtures', 'alert-normalization-expectations.json');
const expectations = readJson<{ alerts: Record<string, NormalizationExpectation> }>(EXPECTATIONS).alerts;

describe('normalization grading', () => {
  const alert = normalizeAlert('wazuh', {
    rule: { level: 12, description: 'Brute force', id: '5712' },
    agent: { id: '001', name: 'web-01', ip: '10.0.0.8' },
    data: { srcuser: 'root' },
  });
  const expected: NormalizationExpectation = {
    source: 'wazuh',
    users: [{ name: 'root', trusted: false }],
    hosts: [{ name: 'web-01', trusted: true }],
    deviceIds: ['001'],
    severity: 'high',
    vendorSeverity: 12,
    indicators: [{ type: 'ip', value: '10.0.0.8', trusted: true }],
  };

  it('grades a fully right alert right on every field', () => {
    expect(Object.values(gradeNormalization(alert, expected).grades).every((g) => g === 'right')).toBe(true);
  });

  it('grades a missing entity partial, an invented one wrong, and trust claimed beyond the truth wrong', () => {
    const more = { ...expected, users: [...expected.users, { name: 'admin', trusted: false }] };
    expect(gradeNormalization(alert, more).grades.users).toBe('partial');
    expect(gradeNormalization(alert, { ...expected, users: [] }).grades.users).toBe('wrong');
    const distrust = { ...expected, hosts: [{ name: 'web-01', trusted: false }] };
    expect(gradeNormalization(alert, distrust).grades.trust).toBe('wrong');
  });
});

describeWithSharedData('normalization of the shared alerts against hand-checked expectations', 'alerts', (dir) => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'manifest.json');
  const results = files.map((file) => {
    const exp = expectations[file];
    const alert = exp ? normalizeAlert(exp.source, readJson(path.join(dir, file))) : undefined;
    return { file, exp, alert, grades: exp && alert ? gradeNormalization(alert, exp) : undefined };
  });

  it('has an expectation for every shared alert', () => {
    expect(results.filter((r) => !r.exp).map((r) => r.file)).toEqual([]);
  });

  describe.each(results.map((r) => [r.file, r] as const))('%s', (_file, r) => {
    it('normalizes to a valid alert with a non-empty title', () => {
      expect(() => NormalizedAlert.parse(r.alert)).not.toThrow();
      expect(r.alert!.title.trim()).not.toBe('');
    });

    it('keeps the vendor severity and never downgrades a HIGH/CRITICAL vendor grade', () => {
      expect(r.grades!.grades.severity).toBe('right');
    });

    it('never trusts an entity the expectation says an attacker can write', () => {
      expect(r.grades!.differences.filter((d) => d.includes('should be untrusted'))).toEqual([]);
    });

    it('invents no indicator; the generic mapper may over-read, but never as trusted', () => {
      const expected = new Set(r.exp!.indicators.map((i) => `${i.type}:${i.value}`.toLowerCase()));
      const invented = r.alert!.observables.filter((o) => !expected.has(`${o.type}:${o.value}`.toLowerCase()));
      if (r.alert!.format === 'generic') expect(invented.filter((o) => o.trusted)).toEqual([]);
      else expect(invented.map((o) => `${o.type}:${o.value}`)).toEqual([]);
    });
  });

  it('gets users, hosts, device ids and indicators right on most alerts', () => {
    const totals = gradeTotals(results.flatMap((r) => (r.grades ? [r.grades] : [])));
    for (const field of ['users', 'hosts', 'deviceIds', 'indicators', 'title', 'trust'] as const)
      expect(totals[field].right).toBeGreaterThanOrEqual(Math.ceil(results.length * 0.75));
  });
});
