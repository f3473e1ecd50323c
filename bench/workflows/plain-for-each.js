// Baseline for bench/foreach.bench.js: one asset lookup per item, at most `input.concurrency` in flight, as
// a plain Temporal workflow (one history, no batch children, no governance). Meant for a few thousand items:
// every activity adds its events to the one history (Temporal's limit is 51,200 events).
'use strict';
const { proxyActivities } = require('@temporalio/workflow');

const a = proxyActivities({ startToCloseTimeout: '1 minute' });

async function plainForEach(input) {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < input.items.length) {
      const host = input.items[next++];
      await a.plainAssetLookup({ host });
      done++;
    }
  };
  await Promise.all(Array.from({ length: input.concurrency }, lane));
  return done;
}

module.exports = { plainForEach };
