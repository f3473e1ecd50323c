/**
 * Alert triage: one alert model for every supported vendor format (`normalizeAlert`), the facts policy
 * decides on (`inScopeTargets`, `scoreRisk`, `routeVerdict`) and the pieces enrichment and the triage
 * workflow build on.
 */
export * from './alert';
export { normalizeAlert, detectAlertFormat, digestRawAlert } from './normalize';
export type { NormalizeOptions } from './normalize';
export { DEFAULT_EXTRACTION_LIMITS, extractIndicators } from './indicators';
export type { ExtractionLimits } from './indicators';
export { TARGET_KINDS, inScopeTargets, isInScope, namedTargets, normalizeTarget } from './scope';
export type { AlertTargets, TargetKind, TargetSource } from './scope';
export { RISK_BANDS, riskBand, riskFactsOf, scoreRisk } from './risk';
export type { AssetFact, DecoyInventory, IntelFact, RiskBand, RiskFacts, RiskFactor, RiskResult } from './risk';
export { routeVerdict } from './routing';
export type { AgentVerdict, HumanReason, RoutingDecision, RoutingOptions } from './routing';
