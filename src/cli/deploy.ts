import type { Command } from 'commander';
import { loadConfig } from '../config';
import { UserError } from '../errors';
import { withClient } from './client';
import type { CliIO } from './output';
import { json, keyValues, table } from './output';

function deploymentName(given: string | undefined): string {
  const name = given ?? loadConfig().deployment?.name;
  if (!name) throw new UserError('no deployment: pass --deployment <name> or set WARDEN_WORKER_DEPLOYMENT');
  return name;
}

/** `warden deploy status|promote`: Worker Versioning for fleet upgrades (docs/operations.md "Upgrades"). */
export function registerDeployCommands(program: Command, io: CliIO): void {
  const deploy = program.command('deploy').description('worker deployments: which build runs the fleet (upgrades)');
  deploy
    .command('status')
    .description("show the deployment's current build and every build it has seen")
    .option('--deployment <name>', 'deployment name (default: WARDEN_WORKER_DEPLOYMENT)')
    .option('--json', 'print JSON')
    .action(async (opts: { deployment?: string; json?: boolean }) => {
      const { describeDeployment } = await import('../runtime/deployments');
      const s = await withClient((client) => describeDeployment(client.temporal, deploymentName(opts.deployment)));
      if (opts.json) return io.out(json(s));
      io.out(keyValues({ deployment: s.name, current: s.currentBuildId ?? '(none)', ramping: s.rampingBuildId }));
      io.out(table(s.builds, ['buildId', 'status']));
    });
  deploy
    .command('promote <buildId>')
    .description('make a build current: new runs start on it and waiting runs move to it on their next task')
    .option('--deployment <name>', 'deployment name (default: WARDEN_WORKER_DEPLOYMENT)')
    .action(async (buildId: string, opts: { deployment?: string }) => {
      const { setCurrentBuild } = await import('../runtime/deployments');
      const name = deploymentName(opts.deployment);
      await withClient((client) => setCurrentBuild(client.temporal, name, buildId));
      io.out(`warden: ${buildId} is now the current build of ${name}`);
    });
}
