import path from 'node:path';
import type { UseCase } from '../contract';
import { alertScorer } from './agent';
import { VERDICT_PLAYBOOK_FILE, registerTriageCommands } from './cli';
import { runTriageDemo } from './demo';
import { settings, triageSettings } from './settings';
import { createAlertFactsProvider } from './policy-facts';
import { createAssessTool } from './tools/assess';
import { createAssetLookupTool } from './tools/asset-lookup';
import { createCaseTool } from './tools/case';
import { createIntelHttpLookupTool } from './tools/intel-http-lookup';
import { createIntelLookupTool } from './tools/intel-lookup';
import { TRIAGE_PLAYBOOK_FILE, triageWebhookRoute } from './webhook';

/*
 * Security alert triage: alert (webhook, any vendor format) → normalize → enrich indicators and hosts →
 * agent:alert-scorer judges → low confidence or risky containment goes to a human → containment through
 * policy → case. One alert model for every supported vendor format (`normalizeAlert`).
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

/** The alert-triage use case, as the core registers it. */
export const useCase: UseCase = {
  name: 'alert-triage',
  description: 'Security alert triage: enrich, let an agent score, contain through policy, write the case',
  settings,
  agents: [alertScorer],
  tools: (ctx) => {
    const s = triageSettings(ctx.settings, ctx.config.http_request.timeoutMs);
    const intelHttp = s.intel.http.url;
    return [
      // Read-only enrichment; without configuration they use the demo samples in demo-data/.
      createIntelLookupTool(s.intel),
      createAssetLookupTool(s.assets),
      ...(intelHttp ? [createIntelHttpLookupTool({ ...s.intel.http, url: intelHttp })] : []),
      createCaseTool(path.join(ctx.config.dataDir, 'cases')),
      createAssessTool(),
    ];
  },
  playbooks: { 'alert-triage': TRIAGE_PLAYBOOK_FILE, 'alert-triage-verdict': VERDICT_PLAYBOOK_FILE },
  policyRules: path.join(__dirname, 'policy.yaml'),
  policyFacts: (ctx) =>
    createAlertFactsProvider(triageSettings(ctx.settings, ctx.config.http_request.timeoutMs).assets),
  webhooks: triageWebhookRoute(),
  demo: runTriageDemo,
  cli: registerTriageCommands,
};
