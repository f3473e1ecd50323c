import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../errors';
import { INSTALL_HINT, LLAMA_DIR } from './catalog';
import type { GrammarSchema } from './grammar-schema';

/*
 * node-llama-cpp is ESM-only and lives outside the project's node_modules (.tools/llama, so that npm never
 * pulls every platform's binaries into the main install). TypeScript compiles `import()` to `require()` under
 * CommonJS, which cannot load ESM; a Function-built import is left alone by the compiler and is a real
 * dynamic import at run time. (It does not work inside Jest's VM sandbox: tests run the server as a process.)
 * The interfaces below describe only what Warden uses of its API (3.x).
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a constant body, no input is evaluated
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** A chat turn as node-llama-cpp's chat wrappers render it. */
export type LlamaHistoryItem =
  { type: 'system'; text: string } | { type: 'user'; text: string } | { type: 'model'; response: string[] };

interface Tokenizer {
  readonly __tokenizer?: never;
}
interface LlamaText {
  tokenize(tokenizer: Tokenizer): unknown[];
}
interface LlamaGrammar {
  readonly grammar: string;
}
interface LlamaModel {
  readonly tokenizer: Tokenizer;
  createContext(opts: { contextSize: number; threads: number; sequences: number }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}
interface LlamaContext {
  readonly contextSize: number;
  getSequence(): unknown;
  dispose(): Promise<void>;
}
interface Llama {
  loadModel(opts: { modelPath: string }): Promise<LlamaModel>;
  createGrammarForJsonSchema(schema: GrammarSchema): Promise<LlamaGrammar>;
  dispose(): Promise<void>;
}
interface LlamaChat {
  readonly chatWrapper: {
    readonly wrapperName: string;
    generateContextState(o: { chatHistory: LlamaHistoryItem[] }): { contextText: LlamaText };
  };
  generateResponse(
    history: LlamaHistoryItem[],
    opts: {
      grammar?: LlamaGrammar;
      maxTokens: number;
      temperature: number;
      seed?: number;
      signal?: AbortSignal;
      stopOnAbortSignal?: boolean;
      onToken?: (tokens: unknown[]) => void;
    },
  ): Promise<{ response: string; metadata: { stopReason: string } }>;
}
interface NodeLlamaCpp {
  getLlama(opts: {
    gpu: false;
    build: 'never';
    skipDownload: true;
    maxThreads: number;
    logLevel: 'error' | 'warn';
  }): Promise<Llama>;
  LlamaChat: new (opts: { contextSequence: unknown }) => LlamaChat;
}

/** Options for {@link loadLocalEngine}. */
export interface EngineOptions {
  modelPath: string;
  /** CPU threads; 0 = every core (at most 4). Oversubscribing a small machine makes llama.cpp much slower. */
  threads: number;
  /** Tokens of context (prompt + answer). */
  contextSize: number;
  /** node-llama-cpp's install folder. @default LLAMA_DIR */
  llamaDir?: string;
}

/** One generation request, already planned (history, optional grammar). */
export interface GenerateRequest {
  history: LlamaHistoryItem[];
  grammar: GrammarSchema | undefined;
  maxTokens: number;
  temperature: number;
  seed: number | undefined;
  signal: AbortSignal | undefined;
}

/** What one generation produced. */
export interface GenerateResult {
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** `length` when max tokens cut it off; `stop` otherwise. */
  finish: 'stop' | 'length';
  ms: number;
  /** Time to the first generated token: prompt evaluation (minus what the previous request left cached). */
  firstTokenMs: number;
}

/** A loaded model. Not reentrant: the server queues requests and calls `generate` one at a time. */
export interface LocalEngine {
  contextSize: number;
  threads: number;
  chatTemplate: string;
  /** Prompt tokens of a history as the model's chat template renders it. */
  countPromptTokens(history: LlamaHistoryItem[]): number;
  generate(req: GenerateRequest): Promise<GenerateResult>;
  close(): Promise<void>;
}

async function importNodeLlamaCpp(dir: string): Promise<NodeLlamaCpp> {
  const entry = path.join(dir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
  if (!fs.existsSync(entry)) throw new UserError(`node-llama-cpp is not installed in ${dir} — ${INSTALL_HINT}`);
  return (await importEsm(pathToFileURL(entry).href)) as NodeLlamaCpp;
}

/**
 * Loads a GGUF model on the CPU with the prebuilt binary (never builds from source, never downloads).
 * @throws UserError when node-llama-cpp or its binary is missing.
 */
export async function loadLocalEngine(opts: EngineOptions): Promise<LocalEngine> {
  const lib = await importNodeLlamaCpp(opts.llamaDir ?? LLAMA_DIR);
  const threads = opts.threads > 0 ? opts.threads : Math.min(os.availableParallelism(), 4);
  let llama: Llama;
  try {
    llama = await lib.getLlama({
      gpu: false,
      build: 'never',
      skipDownload: true,
      maxThreads: threads,
      logLevel: 'error',
    });
  } catch (err) {
    throw new UserError(
      `node-llama-cpp has no working prebuilt binary here (${(err as Error).message}) — ${INSTALL_HINT}`,
    );
  }
  const model = await llama.loadModel({ modelPath: opts.modelPath });
  const context = await model.createContext({ contextSize: opts.contextSize, threads, sequences: 1 });
  const chat = new lib.LlamaChat({ contextSequence: context.getSequence() });
  const grammars = new Map<string, LlamaGrammar>();
  const grammarFor = async (schema: GrammarSchema): Promise<LlamaGrammar> => {
    const key = JSON.stringify(schema);
    let g = grammars.get(key);
    if (!g) {
      g = await llama.createGrammarForJsonSchema(schema);
      if (grammars.size >= 64) grammars.delete(grammars.keys().next().value as string);
      grammars.set(key, g);
    }
    return g;
  };
  const countPromptTokens = (history: LlamaHistoryItem[]) =>
    chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer).length;

  return {
    contextSize: context.contextSize,
    threads,
    chatTemplate: chat.chatWrapper.wrapperName,
    countPromptTokens,
    async generate(req) {
      const started = Date.now();
      const grammar = req.grammar ? await grammarFor(req.grammar) : undefined;
      let completionTokens = 0;
      let firstTokenAt: number | undefined;
      const res = await chat.generateResponse(req.history, {
        ...(grammar ? { grammar } : {}),
        maxTokens: req.maxTokens,
        temperature: req.temperature,
        ...(req.seed !== undefined ? { seed: req.seed } : {}),
        ...(req.signal ? { signal: req.signal, stopOnAbortSignal: true } : {}),
        onToken: (t) => {
          firstTokenAt ??= Date.now();
          completionTokens += t.length;
        },
      });
      return {
        text: res.response,
        promptTokens: countPromptTokens(req.history),
        completionTokens,
        finish: res.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
        ms: Date.now() - started,
        firstTokenMs: (firstTokenAt ?? Date.now()) - started,
      };
    },
    async close() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
