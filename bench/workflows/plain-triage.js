// Baseline for bench/triage.bench.js: the same activity graph as the triage playbook (asset and intel
// lookups in parallel, one LLM call, the deterministic assessment, the case), as a plain Temporal workflow with no governance: no
// policy decisions, no approvals, no audit, no tracing spans, no expression rendering.
'use strict';
const { proxyActivities } = require('@temporalio/workflow');

const a = proxyActivities({ startToCloseTimeout: '1 minute' });

async function plainTriage(input) {
  const assets = await Promise.all(input.hosts.map((host) => a.plainAssetLookup({ host })));
  const intel = await Promise.all(input.indicators.map((i) => a.plainIntelLookup(i)));
  const verdict = await a.plainScore({ alert: input.alert, assets, intel });
  const assessment = await a.plainAssess({ alert: input.alert, assets, intel, verdict });
  if (assessment.route !== 'auto') throw new Error(`the bench verdict went to a human: ${JSON.stringify(assessment)}`);
  await a.plainWriteCase({ id: input.id, alert: input.alert, assets, intel, verdict });
  return verdict;
}

module.exports = { plainTriage };
