import pino from 'pino';
import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';

/**
 * Paths pino censors in every log line, whoever logs them. Redaction lives here, not at call sites,
 * so a new call site cannot forget it.
 */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'config.temporal.apiKey',
  // Vault master key and payload codec keys/token (src/credentials, src/codec), wherever a config lands.
  'masterKey',
  '*.masterKey',
  'config.credentials.masterKey',
  'codec.keys',
  'config.codec.keys',
  'codec.server.token',
  'config.codec.server.token',
  'secretValue',
  '*.secretValue',
];

/** Warden's logger type (pino). */
export type Logger = pino.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level: string;
  /** Where lines go: a file path, or stdout when omitted. */
  file?: string;
  /** Extra destination for tests (a writable stream collecting lines). */
  stream?: pino.DestinationStream;
  name?: string;
}

/** Builds the process logger: JSON lines, central redaction, ISO timestamps. */
export function createLogger(opts: LoggerOptions): Logger {
  const destination =
    opts.stream ?? (opts.file ? pino.destination({ dest: opts.file, mkdir: true, sync: false }) : pino.destination(1));
  return pino(
    {
      name: opts.name ?? 'warden',
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
    },
    destination,
  );
}

const sdkLevels: Record<LogLevel, pino.Level> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Adapts pino to the Temporal SDK's Logger interface so the SDK's own logs (worker lifecycle, workflow
 * `log` calls, activity `log` calls) land in the same pino stream with their metadata.
 */
export function sdkLogger(logger: Logger): SdkLogger {
  const child = logger.child({ component: 'temporal-sdk' });
  const emit = (level: LogLevel, message: string, meta?: LogMetadata) => child[sdkLevels[level]](meta ?? {}, message);
  return {
    log: emit,
    trace: (m, meta) => emit('TRACE', m, meta),
    debug: (m, meta) => emit('DEBUG', m, meta),
    info: (m, meta) => emit('INFO', m, meta),
    warn: (m, meta) => emit('WARN', m, meta),
    error: (m, meta) => emit('ERROR', m, meta),
  };
}
