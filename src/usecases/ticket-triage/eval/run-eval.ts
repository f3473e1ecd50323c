import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { loadConfig } from '../../../config';
import type { LlmSettings } from '../../../activities/llm';
import { startLocalModel, wantsLocalModel } from '../../../runtime/local-model';
import type { LocalModelProcess } from '../../../runtime/local-model';
import { createLogger } from '../../../telemetry/logger';
import { KnowledgeIndex } from '../knowledge/knowledge-index';
import { SAMPLE_KB_DIR } from '../options';
import { matchCategory, routeTicket } from '../route';
import type { Category } from '../ticket';
import { createEvalClassifier } from './classify';
import { renderReport, scoreClassification } from './metrics';

/*
 * `npm run eval:tickets`: scores agent:ticket-classifier on the real helpdesk tickets in
 * ../shared/data/tickets (read in place), against the embedded local model (default, when neither
 * OPENAI_BASE_URL nor OPENAI_API_KEY is set) or any OpenAI-compatible endpoint. The taxonomy is the data
 * set's own label set, by name only; nothing here is tuned to it. Options: --limit N (first N, stratified
 * round-robin over the classes), --data FILE, --out FILE (JSON with every answer).
 */

interface Row {
  source_row: string;
  document: string;
  topic_group: string;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** Interleaves the classes (a, b, c, a, b, c, ...) so a --limit run still covers every class. */
function stratified(rows: Row[]): Row[] {
  const by = new Map<string, Row[]>();
  for (const r of rows) by.set(r.topic_group, [...(by.get(r.topic_group) ?? []), r]);
  const out: Row[] = [];
  for (let i = 0; out.length < rows.length; i++)
    for (const list of by.values()) {
      const row = list[i];
      if (row) out.push(row);
    }
  return out;
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..', '..');
  const dataFile = path.resolve(
    arg('data') ?? path.join(root, '..', 'shared', 'data', 'tickets', 'it_service_tickets_400.csv'),
  );
  if (!fs.existsSync(dataFile))
    throw new Error(
      `${dataFile} is missing: the eval reads ../shared/data/tickets (see its README), or pass --data FILE`,
    );
  const rows = parse<Row>(fs.readFileSync(dataFile, 'utf8'), { columns: true, skip_empty_lines: true });
  const limit = Number(arg('limit') ?? rows.length);
  const sample = stratified(rows).slice(0, limit);
  const labels = [...new Set(rows.map((r) => r.topic_group))].sort();
  const categories: Category[] = labels.map((name) => ({ name, description: '', queue: name }));

  const config = loadConfig();
  const logger = createLogger({ level: 'warn' });
  let local: LocalModelProcess | undefined;
  let llm: LlmSettings = config.llm;
  if (wantsLocalModel(config)) {
    // Loading the model can take minutes on a busy machine; the eval is in no hurry.
    local = await startLocalModel(config, 600_000);
    llm = { ...config.llm, baseURL: local.baseURL, apiKey: undefined, model: local.model.id };
  }
  const endpoint = local ? `embedded local model ${local.model.id}` : `${llm.baseURL ?? 'OpenAI'} model ${llm.model}`;
  process.stderr.write(
    `eval: ${sample.length} tickets from ${path.basename(dataFile)}, ${labels.length} classes, ${endpoint}\n`,
  );

  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-eval-'));
  const kb = KnowledgeIndex.open(path.join(dbDir, 'knowledge.db'), SAMPLE_KB_DIR);
  const classify = createEvalClassifier(llm, logger);
  const answers: {
    row: string;
    gold: string;
    predicted: string | null;
    confidence: number | null;
    plan: string;
    tokens: number;
    turns: number;
    error?: string;
  }[] = [];
  const started = Date.now();
  try {
    for (const [i, r] of sample.entries()) {
      const knowledge = kb.search(r.document, 3).map((k) => ({ path: k.path, title: k.title, snippet: k.snippet }));
      const input = {
        ticket: { number: `ROW-${r.source_row}`, subject: '', description: r.document, requester: null },
        categories: categories.map(({ name, description }) => ({ name, description })),
        knowledge,
      };
      const a = await classify(input, `eval-${r.source_row}`);
      const predicted = a.classification ? (matchCategory(a.classification.category, categories)?.name ?? null) : null;
      const route = a.classification
        ? routeTicket(
            {
              classification: a.classification,
              knowledgePaths: knowledge.map((k) => k.path),
              requester: { verified: true, directory: null },
            },
            { categories, autoResolve: [], confidenceThreshold: 0.75, defaultQueue: 'Service Desk' },
          )
        : undefined;
      answers.push({
        row: r.source_row,
        gold: r.topic_group,
        predicted,
        confidence: a.classification?.confidence ?? null,
        plan: !route ? 'failed' : route.lowConfidence ? 'human_triage' : route.plan,
        tokens: a.promptTokens + a.completionTokens,
        turns: a.turns,
        ...(a.error ? { error: a.error.slice(0, 300) } : {}),
      });
      if ((i + 1) % 10 === 0)
        process.stderr.write(`eval: ${i + 1}/${sample.length} (${Math.round((Date.now() - started) / 1000)} s)\n`);
    }
  } finally {
    kb.close();
    await local?.stop();
  }
  const report = scoreClassification(answers, labels);
  const count = (p: string) => answers.filter((a) => a.plan === p).length / Math.max(1, answers.length);
  const tokens = answers.reduce((s, a) => s + a.tokens, 0);
  const summary = {
    endpoint,
    data: path.basename(dataFile),
    n: answers.length,
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    invalidAnswers: answers.filter((a) => a.predicted === null).length,
    rates: {
      autoResolve: count('reply') + count('reset_password') + count('unlock_account'),
      escalate: count('escalate'),
      humanTriage: count('human_triage'),
      failed: count('failed'),
    },
    tokensPerTicket: tokens / Math.max(1, answers.length),
    turnsPerTicket: answers.reduce((s, a) => s + a.turns, 0) / Math.max(1, answers.length),
    secondsPerTicket: (Date.now() - started) / 1000 / Math.max(1, answers.length),
  };
  const out = arg('out');
  if (out) fs.writeFileSync(out, JSON.stringify({ summary, report, answers }, null, 2));
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n\n${renderReport(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`eval:tickets: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
