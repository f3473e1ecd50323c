import type { DetectionType, NormalizedAlert, Severity } from './alert';

/*
 * Deterministic risk from facts only (the vendor's grade, intel verdicts, asset criticality, the kind of
 * detection, canary signals, known-bad categories). Pure and workflow-safe: no Node built-ins, no I/O,
 * no clock. Facts can only raise the score: nothing an alert says lowers it below its vendor's grade.
 */

/** A risk band, in increasing order. */
export type RiskBand = 'low' | 'medium' | 'high' | 'critical';
/** Bands in increasing order. */
export const RISK_BANDS: readonly RiskBand[] = ['low', 'medium', 'high', 'critical'];

/** One intel verdict for one indicator (the `intel_lookup` result shape). */
export interface IntelFact {
  indicator: string;
  type?: string;
  verdict: 'malicious' | 'suspicious' | 'benign' | 'unknown';
  /** Feed names and details behind the verdict (used for known-bad categories). */
  sources?: Array<{ feed: string; detail: string }>;
}

/** One host's asset record (the `asset_lookup` result shape). */
export interface AssetFact {
  host: string;
  criticality: 'low' | 'medium' | 'high' | 'critical';
  found?: boolean;
  tags?: string[];
}

/** The facts risk is scored from. */
export interface RiskFacts {
  severity: Severity;
  detectionType: DetectionType;
  intel: IntelFact[];
  assets: AssetFact[];
  /** Why this alert touches a canary, decoy or honeytoken (empty when it does not). */
  canarySignals: string[];
  /** Known-bad categories the alert or its intel names (ransomware, C2, credential dumping, ...). */
  knownBadCategories: string[];
}

/** One contribution to the score. */
export interface RiskFactor {
  factor: string;
  points: number;
  detail: string;
}

/** A risk score 0-100, its band, and every factor that contributed. */
export interface RiskResult {
  score: number;
  band: RiskBand;
  factors: RiskFactor[];
}

/** Decoy identities an operator planted (access key ids, user names, host names), case-insensitive. */
export interface DecoyInventory {
  users?: string[];
  hosts?: string[];
  accessKeyIds?: string[];
  domains?: string[];
}

const SEVERITY_POINTS: Record<Severity, number> = { informational: 5, low: 15, medium: 35, high: 60, critical: 80 };
const CRITICALITY_POINTS: Record<AssetFact['criticality'], number> = { low: 0, medium: 5, high: 10, critical: 15 };
const DETECTION_POINTS: Partial<Record<DetectionType, number>> = {
  canary: 40,
  exfiltration: 15,
  malware: 10,
  credential_theft: 10,
  privilege_escalation: 10,
  defense_evasion: 10,
  intrusion: 5,
  phishing: 5,
  execution: 5,
};
/** Score floors: a canary touch is critical, a malicious intel hit at least high. */
const CANARY_FLOOR = 90;
const MALICIOUS_INTEL_FLOOR = 55;

const KNOWN_BAD =
  /ransom|c2|command.and.control|botnet|credential.dump|mimikatz|stealer|exfiltrat|cobalt.?strike|backdoor|trojan|worm|cryptomin|coinmin|tor.exit|webshell/i;
/** Domains of public canary-token services: any alert naming one is a canary touch. */
const CANARY_DOMAINS = /(?:^|\.)canarytokens\.(?:com|org|net)$|(?:^|\.)canary\.tools$/i;

/** The band of a score: 0-29 low, 30-54 medium, 55-79 high, 80-100 critical. */
export function riskBand(score: number): RiskBand {
  if (score >= 80) return 'critical';
  if (score >= 55) return 'high';
  if (score >= 30) return 'medium';
  return 'low';
}

/**
 * Scores risk from facts: vendor severity as the base, plus intel verdicts (malicious +30 once, suspicious
 * +10 once), the most critical asset (+0..15), the detection type (canary +40, exfiltration +15, ...),
 * canary signals and known-bad categories (+10 each, at most +20); floors: a canary signal makes it at
 * least 90 (critical), a malicious intel hit at least 55 (high). Capped at 100. Deterministic.
 */
export function scoreRisk(facts: RiskFacts): RiskResult {
  const factors: RiskFactor[] = [
    { factor: 'vendor_severity', points: SEVERITY_POINTS[facts.severity] ?? 35, detail: facts.severity },
  ];
  const malicious = facts.intel.filter((i) => i.verdict === 'malicious');
  const suspicious = facts.intel.filter((i) => i.verdict === 'suspicious');
  if (malicious.length > 0)
    factors.push({ factor: 'intel_malicious', points: 30, detail: malicious.map((i) => i.indicator).join(', ') });
  if (suspicious.length > 0)
    factors.push({ factor: 'intel_suspicious', points: 10, detail: suspicious.map((i) => i.indicator).join(', ') });
  const top = [...facts.assets].sort(
    (a, b) => CRITICALITY_POINTS[b.criticality] - CRITICALITY_POINTS[a.criticality],
  )[0];
  if (top && CRITICALITY_POINTS[top.criticality] > 0)
    factors.push({
      factor: 'asset_criticality',
      points: CRITICALITY_POINTS[top.criticality],
      detail: `${top.host}: ${top.criticality}`,
    });
  const detectionPoints = DETECTION_POINTS[facts.detectionType] ?? 0;
  if (detectionPoints > 0)
    factors.push({ factor: 'detection_type', points: detectionPoints, detail: facts.detectionType });
  if (facts.canarySignals.length > 0)
    factors.push({ factor: 'canary', points: 10, detail: facts.canarySignals.join('; ') });
  if (facts.knownBadCategories.length > 0)
    factors.push({
      factor: 'known_bad_category',
      points: Math.min(20, 10 * facts.knownBadCategories.length),
      detail: facts.knownBadCategories.join(', '),
    });
  let score = factors.reduce((sum, f) => sum + f.points, 0);
  if (facts.canarySignals.length > 0 && score < CANARY_FLOOR) {
    factors.push({ factor: 'canary_floor', points: CANARY_FLOOR - score, detail: 'a canary or decoy was touched' });
    score = CANARY_FLOOR;
  }
  if (malicious.length > 0 && score < MALICIOUS_INTEL_FLOOR) {
    factors.push({
      factor: 'intel_floor',
      points: MALICIOUS_INTEL_FLOOR - score,
      detail: 'an indicator is known malicious',
    });
    score = MALICIOUS_INTEL_FLOOR;
  }
  score = Math.max(0, Math.min(100, score));
  return { score, band: riskBand(score), factors };
}

/**
 * The risk facts of a normalized alert and its enrichment. Canary signals: a canary detection type, an
 * indicator on a public canary-token service, or a user, host, access key id or domain in the operator's
 * decoy inventory (matched against everything the alert names, trusted or not: a decoy touched anywhere
 * is worth a human's look, and naming one can only raise the score). Known-bad categories come from the
 * alert's category, tactics and detection type and from the intel sources' details.
 */
export function riskFactsOf(
  alert: Pick<NormalizedAlert, 'severity' | 'detectionType' | 'category' | 'tactics' | 'assets' | 'observables'>,
  enrichment: { intel?: IntelFact[]; assets?: AssetFact[] } = {},
  decoys: DecoyInventory = {},
): RiskFacts {
  const intel = (enrichment.intel ?? []).filter((i) => i && typeof i.verdict === 'string');
  const canarySignals: string[] = [];
  if (alert.detectionType === 'canary') canarySignals.push('the detection is a canary/decoy detection');
  for (const o of alert.observables)
    if (o.type === 'domain' && CANARY_DOMAINS.test(o.value)) canarySignals.push(`canary-token domain ${o.value}`);
  const lower = (xs: string[] | undefined) => new Set((xs ?? []).map((x) => x.trim().toLowerCase()));
  const decoyUsers = lower(decoys.users);
  const decoyHosts = lower(decoys.hosts);
  const decoyKeys = lower(decoys.accessKeyIds);
  const decoyDomains = lower(decoys.domains);
  for (const u of alert.assets.users) {
    if (decoyUsers.has(u.name.toLowerCase())) canarySignals.push(`decoy user ${u.name}`);
    if (u.id && decoyKeys.has(u.id.toLowerCase())) canarySignals.push(`decoy credential ${u.id}`);
  }
  for (const h of alert.assets.hosts)
    if (decoyHosts.has(h.hostname.toLowerCase())) canarySignals.push(`decoy host ${h.hostname}`);
  for (const o of alert.observables)
    if (o.type === 'domain' && decoyDomains.has(o.value)) canarySignals.push(`decoy domain ${o.value}`);
  const categories = [
    alert.category ?? '',
    ...alert.tactics,
    alert.detectionType,
    ...intel.flatMap((i) => (i.sources ?? []).map((s) => s.detail)),
  ];
  const knownBad = [
    ...new Set(categories.map((c) => KNOWN_BAD.exec(c)?.[0]?.toLowerCase()).filter((c): c is string => !!c)),
  ];
  return {
    severity: alert.severity,
    detectionType: alert.detectionType,
    intel,
    assets: (enrichment.assets ?? []).filter((a) => a && typeof a.criticality === 'string'),
    canarySignals: [...new Set(canarySignals)],
    knownBadCategories: knownBad,
  };
}
