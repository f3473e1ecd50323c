// The webhook path of `warden serve`'s HTTP server (createHttpServer with the use cases' webhook ingress,
// in-process), with real HMAC-signed HTTP requests:
//   alert to decision  one signed CrowdStrike detection at a time: POST /v1/webhooks/crowdstrike (202) until
//                      its triage run has recorded the verdict and written the case, with a zero-latency
//                      scripted model; p50/p95 beside the same triage graph as a plain Temporal workflow
//                      (bench/workflows/plain-triage.js) started and awaited from a client, one at a time;
//   accept rate        16 concurrent clients posting signed detections for BENCH_BUDGET_MS (accept = 202;
//                      the runs are started, the workers are stopped so only the accept path is timed), beside
//                      the same server answering GET /healthz to 16 concurrent clients, and beside the ceiling
//                      Temporal sets: 16 callers starting the plain triage workflow straight through the client.
// BENCH_WEBHOOK_ALERTS alerts for the latency (default 20), BENCH_WEBHOOK_CLIENTS (16), BENCH_BUDGET_MS per
// accept side (default 5000); `--json` prints one JSON document.
'use strict';
const path = require('node:path');
const lib = require('./lib');

const ALERTS = Number(process.env.BENCH_WEBHOOK_ALERTS ?? 20);
const CLIENTS = Number(process.env.BENCH_WEBHOOK_CLIENTS ?? 16);
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 5000);
const SECRET = 'whsec-bench-crowdstrike';
const { normalizeAlert } = require(path.join(lib.triageDir, 'normalize'));
const { createHttpServer, httpServerLimits } = require(path.join(lib.dist, 'triggers', 'http-server'));
const { useCaseWebhooks } = require(path.join(lib.dist, 'triggers', 'webhook-ingress'));
const { signWebhook } = require(path.join(lib.dist, 'triggers', 'webhooks'));
const { createSecretStore } = require(path.join(lib.dist, 'credentials', 'from-config'));

/** POSTs one signed detection; resolves with the status and the body. */
async function postAlert(base, id) {
  const body = JSON.stringify(lib.rawAlert(id));
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`${base}/v1/webhooks/crowdstrike`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-warden-timestamp': String(ts),
      'x-warden-signature': signWebhook(SECRET, ts, body),
    },
    body,
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** `CLIENTS` callers each sending one request after another for the budget; the accepted rate and latency. */
async function load(request, accepted) {
  const ms = [];
  const statuses = {};
  let n = 0;
  const deadline = Date.now() + BUDGET_MS;
  const t0 = process.hrtime.bigint();
  const caller = async () => {
    while (Date.now() < deadline) {
      const i = n++;
      const s = process.hrtime.bigint();
      const status = await request(i);
      ms.push(Number(process.hrtime.bigint() - s) / 1e6);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, caller));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    n,
    accepted: statuses[accepted] ?? 0,
    perSec: (statuses[accepted] ?? 0) / seconds,
    statuses,
    ...lib.latency(ms),
  };
}

lib.runBench('webhook', async (figures) => {
  process.env.WARDEN_SECRET_WEBHOOK_CROWDSTRIKE = SECRET;
  const stack = await lib.startStack({
    name: 'webhook',
    plainWorkflows: 'plain-triage',
    plainActivities: lib.plainTriageActivities,
  });
  const { config, client, logger } = stack;
  let app;
  try {
    // As `warden serve` builds it (without the runs API and event routes, which these requests do not use),
    // on the stack's client, which vouches for webhook initiators as the HTTP server's does.
    app = createHttpServer({
      client,
      logger,
      ...httpServerLimits(config),
      webhooks: useCaseWebhooks({ config, client, logger, secrets: createSecretStore(config).store }),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${app.server.address().port}`;

    const decision = async (id) => {
      const r = await postAlert(base, id);
      if (r.status !== 202) throw new Error(`webhook answered ${r.status}: ${JSON.stringify(r.body)}`);
      const result = await client.result(r.body.workflowId);
      if (result.status !== 'completed' || !result.outputs.case) {
        throw new Error(`run ${r.body.workflowId} ended ${result.status} without a case`);
      }
    };
    const warm = Math.min(ALERTS, 4);
    await lib.timeRuns(warm, 1, (i) => decision(`warm-${i}`));
    lib.say(`(warm-up, not counted: ${warm} alerts)`);
    const p = await lib.timeRuns(ALERTS, 1, (i) =>
      stack.runPlain(
        i,
        'plainTriage',
        lib.plainTriageInput(`bench-plain-${i}`, normalizeAlert('crowdstrike', lib.rawAlert(`p${i}`))),
      ),
    );
    lib.say(`plain triage workflow, start to result (baseline)   p50 ${p.p50} ms, p95 ${p.p95} ms (n=${p.n})`);
    const d = await lib.timeRuns(ALERTS, 1, (i) => decision(`d${i}`));
    lib.say(`signed webhook in to verdict recorded (case written) p50 ${d.p50} ms, p95 ${d.p95} ms (n=${d.n})`);
    lib.say(
      `alert to decision: p50 ${(d.p50 / p.p50).toFixed(2)}x the plain workflow's, p95 ${(d.p95 / p.p95).toFixed(2)}x`,
    );

    // Accept rate: the workers stop, so the started runs wait in Temporal and only the accept path runs.
    await stack.stopWorkers();
    const health = await load(async () => {
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      return res.status;
    }, 200);
    lib.say(
      `GET /healthz, ${CLIENTS} clients (baseline)  ${health.perSec.toFixed(1)} req/s (200), p50 ${health.p50} ms, p95 ${health.p95} ms (n=${health.n})`,
    );
    // The ceiling Temporal itself sets: the same number of callers starting the plain triage workflow straight
    // through the client, with the same payload size (an alert), no HTTP.
    const alert = normalizeAlert('crowdstrike', lib.rawAlert('raw'));
    const raw = await load(async (i) => {
      await stack.temporal.workflow.start('plainTriage', {
        taskQueue: 'bench-plain',
        workflowId: `bench-raw-start-${i}`,
        args: [lib.plainTriageInput(`bench-raw-${i}`, alert)],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return 202;
    }, 202);
    lib.say(
      `Temporal start, ${CLIENTS} callers (baseline)  ${raw.perSec.toFixed(1)} starts/s, p50 ${raw.p50} ms, p95 ${raw.p95} ms (n=${raw.n})`,
    );
    const accept = await load(async (i) => (await postAlert(base, `a${i}`)).status, 202);
    lib.say(
      `signed webhook, ${CLIENTS} clients            ${accept.perSec.toFixed(1)} req/s (202), p50 ${accept.p50} ms, p95 ${accept.p95} ms (n=${accept.n}, statuses ${JSON.stringify(accept.statuses)})`,
    );
    lib.say(`webhook accept/healthz = ${(accept.perSec / health.perSec).toFixed(3)}x the trivial route's req/s`);
    lib.say(`webhook accept/Temporal start = ${(accept.perSec / raw.perSec).toFixed(3)}x the bare start rate`);
    Object.assign(figures, {
      alerts: ALERTS,
      decisionP50Ms: d.p50,
      decisionP95Ms: d.p95,
      plainTriageP50Ms: p.p50,
      plainTriageP95Ms: p.p95,
      decisionP50Ratio: lib.round(d.p50 / p.p50, 3),
      clients: CLIENTS,
      acceptPerSec: lib.round(accept.perSec, 1),
      acceptP50Ms: accept.p50,
      acceptP95Ms: accept.p95,
      acceptRequests: accept.n,
      acceptRejected: accept.n - accept.accepted,
      healthzPerSec: lib.round(health.perSec, 1),
      healthzP50Ms: health.p50,
      healthzP95Ms: health.p95,
      acceptRatio: lib.round(accept.perSec / health.perSec, 4),
      rawStartPerSec: lib.round(raw.perSec, 1),
      rawStartP50Ms: raw.p50,
      rawStartP95Ms: raw.p95,
      acceptVsRawStart: lib.round(accept.perSec / raw.perSec, 3),
    });
  } finally {
    delete process.env.WARDEN_SECRET_WEBHOOK_CROWDSTRIKE;
    await app?.close();
    await stack.close();
  }
});
