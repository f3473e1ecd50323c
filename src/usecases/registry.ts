import path from 'node:path';
import type { AgentDefinition } from '../agents/types';
import type { PolicyFactsProvider } from '../governance/facts';
import type { WardenConfig } from '../config';
import type { Logger } from '../telemetry/logger';
import type { AnyTool } from '../tools/types';
import type { ScheduleDeclaration, UseCase, UseCaseContext } from './contract';
import { installedUseCaseNames } from './discovery';

/*
 * The core's view of the installed use cases: loads each folder's `useCase` and hands its parts to the
 * worker (agents, tools, policy rules), the HTTP server (webhooks), `warden dev` (demos) and the CLI.
 */

const cache = new Map<string, UseCase>();

/** Loads one installed use case by folder name. @throws when the folder does not export a valid `useCase`. */
export function loadUseCase(name: string, root: string = __dirname): UseCase {
  const key = path.join(root, name);
  const hit = cache.get(key);
  if (hit) return hit;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(key) as { useCase?: UseCase };
  const uc = mod.useCase;
  if (!uc || typeof uc !== 'object' || uc.name !== name)
    throw new Error(`use case folder ${key} must export \`useCase\` with name "${name}" (src/usecases/contract.ts)`);
  cache.set(key, uc);
  return uc;
}

/** Every installed use case, sorted by name (the CLI registers all of them, enabled or not). */
export function installedUseCases(root?: string): UseCase[] {
  return installedUseCaseNames(root).map((n) => loadUseCase(n, root));
}

/** The use cases WARDEN_USECASES enables. */
export function enabledUseCases(config: WardenConfig): UseCase[] {
  return config.usecases.enabled.map((n) => loadUseCase(n));
}

/** The context a use case's hooks receive. */
export function useCaseContext(uc: UseCase, config: WardenConfig, logger: Logger): UseCaseContext {
  return { config, settings: config.usecases.settings[uc.name] ?? {}, logger: logger.child({ usecase: uc.name }) };
}

/** The enabled use cases' tools (workers). */
export function useCaseTools(config: WardenConfig, logger: Logger): AnyTool[] {
  return enabledUseCases(config).flatMap((uc) => uc.tools?.(useCaseContext(uc, config, logger)) ?? []);
}

/** The enabled use cases' policy-facts providers (workers). */
export function useCaseFactsProviders(config: WardenConfig, logger: Logger): PolicyFactsProvider[] {
  return enabledUseCases(config).flatMap((uc) =>
    uc.policyFacts ? [uc.policyFacts(useCaseContext(uc, config, logger))] : [],
  );
}

/** The enabled use cases' agents (workers). */
export function useCaseAgents(config: WardenConfig): AgentDefinition[] {
  return enabledUseCases(config).flatMap((uc) => uc.agents ?? []);
}

/** The enabled use cases' policy fragments (merged into a policy that opts in with `useCaseRules: true`). */
export function useCasePolicyFragments(config: WardenConfig): { usecase: string; file: string }[] {
  return enabledUseCases(config).flatMap((uc) => (uc.policyRules ? [{ usecase: uc.name, file: uc.policyRules }] : []));
}

/** The enabled use cases' threshold-rules files. */
export function useCaseThresholdRuleFiles(config: WardenConfig): { usecase: string; file: string }[] {
  return enabledUseCases(config).flatMap((uc) =>
    uc.thresholdRules ? [{ usecase: uc.name, file: uc.thresholdRules }] : [],
  );
}

/** The enabled use cases' schedules, with the use case that declares each. */
export function useCaseSchedules(config: WardenConfig): { usecase: string; schedule: ScheduleDeclaration }[] {
  return enabledUseCases(config).flatMap((uc) =>
    (uc.schedules ?? []).map((schedule) => ({ usecase: uc.name, schedule })),
  );
}

/**
 * A bundled playbook by name (`<usecase>/<playbook>` or a bare name when unambiguous), among the
 * installed use cases. @returns the file, or undefined when no use case ships it.
 */
export function findBundledPlaybook(ref: string): { usecase: string; name: string; file: string } | undefined {
  const [scope, name] = ref.includes('/') ? ref.split('/', 2) : [undefined, ref];
  for (const uc of installedUseCases()) {
    if (scope && uc.name !== scope) continue;
    const file = name ? uc.playbooks?.[name] : undefined;
    if (file && name) return { usecase: uc.name, name, file };
  }
  return undefined;
}
