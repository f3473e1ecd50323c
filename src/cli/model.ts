import type { Command } from 'commander';
import { loadConfig } from '../config';
import { UserError } from '../errors';
import { resolveLocalModel } from '../model/catalog';
import type { CliIO } from './output';

/** `warden model serve` / `warden model info`: the embedded local model behind an OpenAI-compatible endpoint. */
export function registerModelCommands(program: Command, io: CliIO): void {
  const model = program.command('model').description('the embedded local model (OpenAI-compatible endpoint)');

  model
    .command('serve')
    .description('serve the local model on loopback (POST /v1/chat/completions, GET /v1/models) until Ctrl-C')
    .option('--port <port>', 'port on 127.0.0.1; 0 picks a free one (default: WARDEN_MODEL_PORT, 8790)')
    .option('--model-path <file>', 'GGUF file to serve (default: WARDEN_LOCAL_MODEL_PATH, else the installed model)')
    .option('--log-file <file>', 'write the JSON log there instead of stdout')
    .option('--exit-with-stdin', 'stop when standard input closes (how `warden dev` makes sure it never outlives it)')
    .action(async (opts: { port?: string; modelPath?: string; logFile?: string; exitWithStdin?: boolean }) => {
      const config = loadConfig();
      const port = opts.port === undefined ? config.localModel.port : Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port ${opts.port} is not a port`);
      const [{ loadLocalEngine }, { createModelServer }, { createLogger }] = await Promise.all([
        import('../model/llama-runtime'),
        import('../model/model-server'),
        import('../telemetry/logger'),
      ]);
      const logger = createLogger({ level: config.logLevel, ...(opts.logFile ? { file: opts.logFile } : {}) });
      const file = resolveLocalModel({
        key: config.localModel.key,
        explicitPath: opts.modelPath ?? config.localModel.path,
      });
      io.out(`warden: loading ${file.description}…`);
      const engine = await loadLocalEngine({
        modelPath: file.path,
        threads: config.localModel.threads,
        contextSize: config.localModel.contextSize,
      });
      const app = createModelServer({
        engine,
        modelId: file.id,
        logger,
        maxTokens: config.localModel.maxTokens,
        maxToolRounds: config.localModel.maxToolRounds,
      });
      await app.listen({ host: '127.0.0.1', port });
      const address = app.server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      io.out(
        `warden: model server listening on http://127.0.0.1:${bound}/v1 — model ${file.id}, ` +
          `${engine.threads} CPU threads, ${engine.contextSize}-token context, ${engine.chatTemplate} chat template`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
        if (opts.exitWithStdin) process.stdin.once('close', () => resolve()).resume();
      });
      await app.close();
      await engine.close();
      logger.flush();
    });

  model
    .command('info')
    .description('say which local model would be served and whether it is installed')
    .action(() => {
      const config = loadConfig();
      const file = resolveLocalModel({ key: config.localModel.key, explicitPath: config.localModel.path });
      io.out(`${file.id}\t${file.path}\n${file.description}`);
    });
}
