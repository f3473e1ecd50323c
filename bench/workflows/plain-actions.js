// Baseline for bench/actions.bench.js: `input.steps` asset lookups one after another, as a plain Temporal
// workflow with no governance (no policy decisions, audit, tracing spans or expression rendering).
'use strict';
const { proxyActivities } = require('@temporalio/workflow');

const a = proxyActivities({ startToCloseTimeout: '1 minute' });

async function plainActions(input) {
  const out = [];
  for (let i = 0; i < input.steps; i++) out.push(await a.plainAssetLookup({ host: input.host }));
  return out.length;
}

module.exports = { plainActions };
