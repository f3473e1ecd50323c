import { Command, CommanderError } from 'commander';
import { ConfigError, UserError } from '../errors';
import { isTemporalUnavailable } from '../triggers/backpressure';
import { WARDEN_VERSION } from '../version';
import { registerAuditCommands } from './audit';
import { registerDevCommand } from './dev';
import type { CliIO } from './output';
import { processIO } from './output';
import { registerGovernanceCommands } from './governance';
import { registerKeysCommands } from './keys';
import { registerPolicyCommands } from './policy';
import { registerModelCommands } from './model';
import { registerRunCommands } from './runs';
import { registerScheduleCommands } from './schedules';
import { registerServeCommand } from './serve';
import { registerSecretsCommands } from './secrets';
import { registerTokenCommands } from './tokens';
import { registerCodecCommands } from './codec';
import { registerWorkerCommand } from './worker';
import { registerUseCaseCli, registerUseCaseCommands } from './usecases';
import { registerDeployCommands } from './deploy';
import { registerDoctorCommand } from './doctor';
import { registerMcpCommands } from './mcp';

/** Builds the `warden` command tree. */
export function buildProgram(io: CliIO): Command {
  const program = new Command('warden')
    .description('Governed agentic workflow automation on Temporal')
    .version(WARDEN_VERSION)
    .showHelpAfterError('(run `warden --help` for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  registerDevCommand(program, io);
  registerWorkerCommand(program);
  registerRunCommands(program, io);
  registerScheduleCommands(program, io);
  registerServeCommand(program, io);
  registerGovernanceCommands(program, io);
  registerKeysCommands(program, io);
  registerPolicyCommands(program, io);
  registerAuditCommands(program, io);
  registerSecretsCommands(program, io);
  registerTokenCommands(program, io);
  registerCodecCommands(program, io);
  registerModelCommands(program, io);
  registerDeployCommands(program, io);
  registerDoctorCommand(program, io);
  registerMcpCommands(program, io);
  registerUseCaseCommands(program, io);
  registerUseCaseCli(program, io);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/**
 * Runs the CLI and resolves with the exit code: 0 ok, 1 a failure the user can fix (printed as one line,
 * no stack), 2 invalid configuration or usage, 70 an internal error.
 */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
        ? 0
        : 2;
    }
    if (err instanceof ConfigError) {
      io.err(`warden: ${err.message}`);
      return 2;
    }
    if (err instanceof UserError) {
      io.err(`warden: ${err.message}`);
      return 1;
    }
    const known = knownFailure(err);
    if (known) {
      io.err(`warden: ${known}`);
      return 1;
    }
    io.err(`warden: internal error: ${(err as Error).stack ?? String(err)}`);
    return 70;
  }
}

/**
 * Failures that are outcomes, not Warden defects, as one line (no stack): a run that ended failed (for
 * `run --wait`), a Temporal call that could not reach the server. Duck-typed: loading @temporalio/client
 * here would slow every command down.
 */
function knownFailure(err: unknown): string | undefined {
  const e = err as { name?: string; message?: string; cause?: { type?: string; message?: string; name?: string } };
  if (e?.name === 'WorkflowFailedError') {
    const c = e.cause;
    const type = c?.type ?? c?.name;
    return `the run failed${type ? ` (${type})` : ''}: ${c?.message ?? e.message ?? 'no reason given'} — see \`warden status <workflowId>\``;
  }
  // A recursive schema or parser on absurdly nested input: the input's problem, not a Warden defect.
  if (err instanceof RangeError && /call stack/i.test(err.message))
    return 'the input nests too deeply to process — flatten it';
  if (isTemporalUnavailable(err))
    return `cannot reach Temporal: ${(e.message ?? '').split('\n')[0]} — check TEMPORAL_ADDRESS and that the cluster is up`;
  return undefined;
}
