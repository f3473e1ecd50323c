import { normalizeAlert } from '../../../src/usecases/alert-triage';
import type { RiskFacts } from '../../../src/usecases/alert-triage/risk';
import { riskFactsOf, scoreRisk } from '../../../src/usecases/alert-triage/risk';
import type { AgentVerdict } from '../../../src/usecases/alert-triage/routing';
import { routeVerdict } from '../../../src/usecases/alert-triage/routing';

const base: RiskFacts = {
  severity: 'low',
  detectionType: 'unknown',
  intel: [],
  assets: [],
  canarySignals: [],
  knownBadCategories: [],
};

const hostileBenign: AgentVerdict = {
  verdict: 'benign',
  confidence: 0.99,
  rationale: 'Routine administrative activity, expected behaviour. Close it.',
};

function codes(risk: RiskFacts, verdict: AgentVerdict | undefined, threshold?: number): string[] {
  return routeVerdict(
    scoreRisk(risk),
    verdict,
    threshold === undefined ? {} : { confidenceThreshold: threshold },
  ).reasons.map((r) => r.code);
}

describe('risk score', () => {
  it('starts from the vendor severity and bands it', () => {
    expect(scoreRisk({ ...base, severity: 'low' })).toMatchObject({ score: 15, band: 'low' });
    expect(scoreRisk({ ...base, severity: 'medium' })).toMatchObject({ score: 35, band: 'medium' });
    expect(scoreRisk({ ...base, severity: 'high' })).toMatchObject({ score: 60, band: 'high' });
    expect(scoreRisk({ ...base, severity: 'critical' })).toMatchObject({ score: 80, band: 'critical' });
  });

  it('lists every contributing factor and caps the score at 100', () => {
    const risk = scoreRisk({
      ...base,
      severity: 'critical',
      detectionType: 'exfiltration',
      intel: [{ indicator: '198.51.100.7', verdict: 'malicious' }],
      assets: [{ host: 'db-1', criticality: 'critical' }],
      knownBadCategories: ['ransom'],
    });
    expect(risk.score).toBe(100);
    expect(risk.factors.map((f) => f.factor)).toEqual([
      'vendor_severity',
      'intel_malicious',
      'asset_criticality',
      'detection_type',
      'known_bad_category',
    ]);
  });

  it('makes a canary touch critical and a malicious intel hit at least high, whatever the vendor said', () => {
    expect(scoreRisk({ ...base, severity: 'informational', canarySignals: ['decoy user svc-backup'] }).band).toBe(
      'critical',
    );
    expect(
      scoreRisk({ ...base, severity: 'low', intel: [{ indicator: 'x.example', verdict: 'malicious' }] }).band,
    ).toBe('high');
  });

  it('never lowers the score for benign intel or low-criticality assets', () => {
    const plain = scoreRisk({ ...base, severity: 'high' }).score;
    expect(
      scoreRisk({
        ...base,
        severity: 'high',
        intel: [{ indicator: 'example.com', verdict: 'benign' }],
        assets: [{ host: 'kiosk', criticality: 'low' }],
      }).score,
    ).toBe(plain);
  });

  it('reads canary signals from the detection type, canary-token domains and the decoy inventory', () => {
    const alert = normalizeAlert('generic', {
      title: 'Login failure',
      user: 'svc-backup-decoy',
      note: 'callback to http://abc123.canarytokens.com/x',
    });
    const facts = riskFactsOf(alert, {}, { users: ['SVC-BACKUP-DECOY'] });
    expect(facts.canarySignals).toEqual(
      expect.arrayContaining(['canary-token domain abc123.canarytokens.com', 'decoy user svc-backup-decoy']),
    );
    expect(scoreRisk(facts).band).toBe('critical');
  });
});

describe('verdict routing', () => {
  it('lets a confident, consistent benign verdict on a low-risk alert proceed automatically', () => {
    expect(
      routeVerdict(scoreRisk(base), { verdict: 'benign', confidence: 0.9, rationale: 'A scheduled backup job.' }),
    ).toEqual({
      route: 'auto',
      reasons: [],
    });
  });

  it("routes a hostile model's benign 0.99 on a critical finding to a human", () => {
    expect(codes({ ...base, severity: 'critical' }, hostileBenign)).toContain('benign_on_high_risk');
  });

  it("routes a hostile model's benign 0.99 on a canary alert to a human", () => {
    expect(
      codes({ ...base, severity: 'low', detectionType: 'canary', canarySignals: ['decoy'] }, hostileBenign),
    ).toEqual(expect.arrayContaining(['benign_on_canary', 'benign_on_high_risk']));
  });

  it("routes a hostile model's benign 0.99 on an intel hit to a human, even a low-severity one", () => {
    expect(codes({ ...base, intel: [{ indicator: '203.0.113.9', verdict: 'suspicious' }] }, hostileBenign)).toContain(
      'benign_with_intel_hit',
    );
  });

  it('sends low confidence to a human, at the given threshold', () => {
    const verdict: AgentVerdict = { verdict: 'benign', confidence: 0.6, rationale: 'Known scanner.' };
    expect(codes(base, verdict)).toContain('low_confidence');
    expect(codes(base, verdict, 0.5)).not.toContain('low_confidence');
  });

  it('catches a benign verdict whose rationale says the host is compromised', () => {
    const verdict: AgentVerdict = {
      verdict: 'benign',
      confidence: 0.95,
      rationale: 'The host is compromised and data exfiltration is under way; ignore it.',
    };
    expect(codes(base, verdict)).toContain('rationale_contradicts_verdict');
  });

  it('does not flag a benign rationale that negates the bad words', () => {
    const verdict: AgentVerdict = {
      verdict: 'benign',
      confidence: 0.9,
      rationale: 'No evidence of compromise; the binary is not malicious and nothing was exfiltrated.',
    };
    expect(codes(base, verdict)).toEqual([]);
  });

  it('catches a malicious verdict whose rationale calls it a false positive', () => {
    const verdict: AgentVerdict = { verdict: 'malicious', confidence: 0.9, rationale: 'This is a false positive.' };
    expect(codes({ ...base, severity: 'high' }, verdict)).toContain('rationale_contradicts_verdict');
  });

  it('refuses confidence a verdict cannot carry, and malformed answers', () => {
    expect(codes(base, { verdict: 'benign', confidence: 0.3, rationale: 'Probably fine.' }, 0.1)).toContain(
      'confidence_outside_verdict',
    );
    for (const bad of [
      undefined,
      { verdict: 'benign', confidence: 1.5, rationale: 'x' },
      { verdict: 'benign', confidence: Number.NaN, rationale: 'x' },
      { verdict: 'harmless', confidence: 0.9, rationale: 'x' },
      { verdict: 'benign', confidence: 0.9, rationale: '   ' },
    ] as unknown as AgentVerdict[])
      expect(routeVerdict(scoreRisk(base), bad)).toMatchObject({
        route: 'human',
        reasons: [{ code: 'malformed_verdict' }],
      });
  });

  it('sends suspicious verdicts to a human and flags malicious on a low-risk alert as disagreement', () => {
    expect(codes(base, { verdict: 'suspicious', confidence: 0.9, rationale: 'Unclear.' })).toContain(
      'suspicious_needs_human',
    );
    expect(codes(base, { verdict: 'malicious', confidence: 0.9, rationale: 'Known bad tool.' })).toContain(
      'band_disagreement',
    );
    expect(
      codes({ ...base, severity: 'high' }, { verdict: 'malicious', confidence: 0.9, rationale: 'Known bad tool.' }),
    ).toEqual([]);
  });
});
