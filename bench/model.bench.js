#!/usr/bin/env node
// Local model: one alert-scoring agent step per scenario, through the unchanged agent code path
// (callModel of src/activities/llm.ts → the real openai client → HTTP → `warden model serve`'s server, here
// in-process), with the real alert-scorer agent and the real asset_lookup / intel_lookup tools on the demo
// data. For each installed model (.tools/models/*.gguf, or BENCH_MODELS=a.gguf,b.gguf) it prints:
//   tool call ok   turn 1 asked for an allowed tool with arguments that pass its schema
//   grounded       ... and the argument is an entity of the alert (not an invented one)
//   final ok       turn 2, after the tool result: an answer that passes the output schema
//   verdict ok     the verdict matches the scenario's expected one (judgement, not structure)
//   tokens/s       decode speed (generated tokens after the first / their time)
//   s/step         wall time of the whole agent step (both turns, prompt evaluation included)
// BENCH_MODEL_BASELINE=1 repeats every run without the grammar (same prompt), to show what it is worth.
// BENCH_THREADS sets the CPU threads (default: one per core, at most 4).
/* global AbortSignal */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { MockActivityEnvironment } = require('@temporalio/testing');
const { createLlmActivities } = require('../dist/activities/llm');
const { AgentRegistry } = require('../dist/agents/types');
const { ToolRegistry } = require('../dist/tools/types');
const { createAssetLookupTool } = require('../dist/usecases/alert-triage/tools/asset-lookup');
const { createIntelLookupTool } = require('../dist/usecases/alert-triage/tools/intel-lookup');
const { alertScorer } = require('../dist/usecases/alert-triage/agent');
const { untrustedRule, wrapUntrusted } = require('../dist/governance/untrusted');
const { MODELS_DIR } = require('../dist/model/catalog');
const { loadLocalEngine } = require('../dist/model/llama-runtime');
const { createModelServer } = require('../dist/model/model-server');
const { createLogger } = require('../dist/telemetry/logger');

const ROOT = path.join(__dirname, '..');
const TAG = 'b3nch7a9';
const SCENARIOS = [
  {
    expect: 'malicious',
    alert: { rule: 'Impossible travel sign-in', host: 'web-01', user: 'jane.doe', src_ip: '203.0.113.66' },
  },
  {
    expect: 'malicious',
    alert: {
      rule: 'Encoded PowerShell downloading a payload',
      host: 'fin-laptop-07',
      user: 'jane.doe',
      url: 'http://malware-drop.example.net/a.ps1',
    },
  },
  {
    expect: 'benign',
    alert: {
      rule: 'Port scan from internal host',
      host: 'dev-sandbox-03',
      user: 'sec-scanner',
      note: 'scheduled lab scan',
    },
  },
  {
    expect: 'suspicious',
    alert: { rule: 'New domain admin account created at 03:12', host: 'dc-01', user: 'svc-backup' },
  },
  {
    expect: 'benign',
    alert: {
      rule: 'Unsigned binary executed',
      host: 'eng-ws-12',
      user: 'sam.lee',
      path: 'C:/Users/sam/AppData/Local/Programs/code/Code.exe',
    },
  },
  {
    expect: 'suspicious',
    alert: { rule: '50 failed sign-ins then success', host: 'web-01', user: 'admin', src_ip: '198.51.100.23' },
  },
];

function models() {
  if (process.env.BENCH_MODELS) return process.env.BENCH_MODELS.split(',').map((f) => path.resolve(f.trim()));
  if (!fs.existsSync(MODELS_DIR)) return [];
  return fs
    .readdirSync(MODELS_DIR)
    .filter((f) => f.endsWith('.gguf'))
    .sort()
    .map((f) => path.join(MODELS_DIR, f));
}

async function runModel(file, constrain, logger) {
  const modelId = path.basename(file, '.gguf');
  const engine = await loadLocalEngine({
    modelPath: file,
    threads: Number(process.env.BENCH_THREADS ?? 0),
    contextSize: 4096,
  });
  // Decode speed as the engine measures it (from the first generated token), besides the wall time per step.
  const decode = { tokens: 0, ms: 0 };
  const generate = engine.generate.bind(engine);
  engine.generate = async (req) => {
    const r = await generate(req);
    decode.tokens += Math.max(0, r.completionTokens - 1);
    decode.ms += r.ms - r.firstTokenMs;
    return r;
  };
  const app = createModelServer({ engine, modelId, logger, constrain });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const tools = new ToolRegistry([
    createAssetLookupTool({
      inventoryFile: path.join(ROOT, 'src', 'usecases', 'alert-triage', 'demo-data', 'assets.yaml'),
    }),
    createIntelLookupTool({ dir: path.join(ROOT, 'src', 'usecases', 'alert-triage', 'demo-data', 'intel') }),
  ]);
  const llm = createLlmActivities({
    agents: new AgentRegistry([alertScorer]),
    tools,
    llm: {
      baseURL: `http://127.0.0.1:${app.server.address().port}/v1`,
      apiKey: undefined,
      model: modelId,
      timeoutMs: 120_000,
      structuredOutput: 'json_schema',
    },
    logger,
  });
  const t = { toolOk: 0, grounded: 0, finalOk: 0, verdictOk: 0, stepMs: 0 };
  for (const [i, s] of SCENARIOS.entries()) {
    const messages = [
      {
        role: 'user',
        content: `Complete your task for the data below.\n\n${wrapUntrusted('input', { alert: s.alert }, TAG)}`,
      },
    ];
    const call = async (turn) => {
      const started = Date.now();
      let reply;
      try {
        // A fresh activity context per call, as Temporal gives each activity.
        reply = await new MockActivityEnvironment().run(llm.callModel, {
          workflowId: `bench-${i}`,
          stepId: 'score',
          agent: 'alert-scorer',
          turn,
          untrustedRule: untrustedRule(TAG),
          messages,
        });
      } catch (err) {
        // A failed call counts as a failed turn (Temporal would retry it); say why, and go on.
        console.log(`  #${i} turn ${turn} failed after ${Date.now() - started} ms: ${err.type ?? ''} ${err.message}`);
        return { kind: 'final', valid: false, error: err.message };
      }
      if (process.env.BENCH_VERBOSE === '1')
        console.log(
          `  #${i} turn ${turn} ${Date.now() - started} ms`,
          JSON.stringify(reply.kind === 'tool_calls' ? reply.calls : reply.valid ? reply.output : reply.error).slice(
            0,
            300,
          ),
        );
      return reply;
    };
    const stepStarted = Date.now();
    let reply = await call(1);
    if (reply.kind === 'tool_calls') {
      const c = reply.calls[0];
      const tool = tools.get(c.name);
      let args;
      try {
        args = JSON.parse(c.arguments);
      } catch {
        args = undefined;
      }
      const parsed =
        tool && alertScorer.allowedTools.includes(c.name) ? tool.input.safeParse(args) : { success: false };
      let result = { error: 'refused: invalid tool call' };
      if (parsed.success) {
        t.toolOk++;
        if (Object.values(parsed.data).some((v) => typeof v === 'string' && JSON.stringify(s.alert).includes(v)))
          t.grounded++;
        result = await tool.execute(parsed.data, {
          logger,
          idempotencyKey: `bench/${i}`,
          signal: AbortSignal.timeout(60_000),
          heartbeat() {},
          credential: () => Promise.reject(new Error('none')),
        });
      }
      messages.push({
        role: 'assistant',
        content: reply.content,
        tool_calls: reply.calls.map((x) => ({
          id: x.id,
          type: 'function',
          function: { name: x.name, arguments: x.arguments },
        })),
      });
      messages.push({ role: 'tool', tool_call_id: c.id, content: wrapUntrusted(`tool:${c.name}`, result, TAG) });
      reply = await call(2);
    }
    if (reply.kind === 'final' && reply.valid) {
      t.finalOk++;
      if (reply.output.verdict === s.expect) t.verdictOk++;
    }
    t.stepMs += Date.now() - stepStarted;
  }
  await app.close();
  await engine.close();
  const n = SCENARIOS.length;
  const pct = (x) => `${x}/${n}`.padEnd(6);
  console.log(
    `${modelId.padEnd(16)} ${constrain ? 'grammar ' : 'no gram.'}  tool call ok ${pct(t.toolOk)} grounded ${pct(t.grounded)} ` +
      `final ok ${pct(t.finalOk)} verdict ok ${pct(t.verdictOk)} ${((decode.tokens * 1000) / Math.max(1, decode.ms)).toFixed(1).padStart(5)} tokens/s ` +
      `${(t.stepMs / 1000 / n).toFixed(2).padStart(5)} s/step  (load ${os.loadavg()[0].toFixed(1)})`,
  );
}

async function main() {
  const files = models();
  if (files.length === 0) {
    console.error(
      'bench: no local model installed — run `npm run setup:model` (WARDEN_LOCAL_MODEL=all for every candidate)',
    );
    process.exit(1);
  }
  const logger = createLogger({ level: 'silent' });
  console.log(`alert-scorer agent step (tool call, then verdict) on ${SCENARIOS.length} scenarios per model`);
  for (const file of files) {
    await runModel(file, true, logger);
    if (process.env.BENCH_MODEL_BASELINE === '1') await runModel(file, false, logger);
  }
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
