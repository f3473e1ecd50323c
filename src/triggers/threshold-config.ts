import type { Client } from '@temporalio/client';
import type { WardenConfig } from '../config';
import { useCaseThresholdRuleFiles } from '../usecases/registry';
import { UserError } from '../errors';
import { playbookResolver } from './playbook-source';
import type { CompiledThresholdRule } from './threshold-contract';
import { EventIngestor } from './threshold-ingest';
import { loadThresholdRulesFile } from './threshold-rule';

/*
 * The threshold rules a deployment runs: the operator's WARDEN_THRESHOLD_RULES_FILE plus the rules files
 * the enabled use cases ship. The HTTP server mounts them at POST /v1/events/:stream; workers give them
 * to the `event_emit` tool, so a playbook step can feed a stream too.
 */

/**
 * Loads and compiles every rule. @throws UserError naming the file and rule when a rule is invalid or two
 * files use the same rule id.
 */
export function loadThresholdRules(config: WardenConfig): CompiledThresholdRule[] {
  const resolve = playbookResolver();
  const files = [
    ...useCaseThresholdRuleFiles(config).map((f) => f.file),
    ...(config.thresholdRulesFile ? [config.thresholdRulesFile] : []),
  ];
  const rules: CompiledThresholdRule[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    for (const rule of loadThresholdRulesFile(file, resolve)) {
      const other = seen.get(rule.id);
      if (other)
        throw new UserError(`threshold rule "${rule.id}" is defined in ${other} and in ${file}; ids must be unique`);
      seen.set(rule.id, file);
      rules.push(rule);
    }
  }
  return rules;
}

/** The ingestor for a deployment's rules (runs start on its task queue). */
export function thresholdIngestor(config: WardenConfig, client: Client): EventIngestor {
  return new EventIngestor({ client, taskQueue: config.taskQueue, rules: loadThresholdRules(config) });
}
