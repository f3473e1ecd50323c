/**
 * Alert triage: one alert model for every supported vendor format (`normalizeAlert`) and the pieces
 * enrichment and the triage workflow build on.
 */
export * from './alert';
export { normalizeAlert, detectAlertFormat, digestRawAlert } from './normalize';
export type { NormalizeOptions } from './normalize';
export { DEFAULT_EXTRACTION_LIMITS, extractIndicators } from './indicators';
export type { ExtractionLimits } from './indicators';
