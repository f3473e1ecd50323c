import type { Command } from 'commander';
import type { AgentDefinition } from '../agents/types';
import type { PolicyFactsProvider } from '../governance/facts';
import type { CliIO } from '../cli/output';
import type { WardenClient } from '../client';
import type { WardenConfig } from '../config';
import type { SecretStore } from '../credentials';
import type { SettingsTable } from '../settings';
import type { Logger } from '../telemetry/logger';
import type { AnyTool } from '../tools/types';
import type { WebhookDelivery } from '../triggers/webhooks';

/*
 * The contract between Warden's core and a use case. A use case is a folder `src/usecases/<name>/` whose
 * `index.ts` exports `useCase: UseCase` and whose `settings.ts` exports `settings: SettingsTable` (zod
 * only, so configuration can read it without loading the use case). The core discovers installed folders
 * (src/usecases/registry.ts) and registers what each brings: adding a use case edits no core file, and
 * removing one leaves a core that builds and passes its own tests.
 */

export type { SettingSpec, SettingsTable } from '../settings';

/** What a use case's hooks receive. */
export interface UseCaseContext {
  config: WardenConfig;
  /** This use case's own settings, parsed, by environment-variable name. */
  settings: Record<string, unknown>;
  logger: Logger;
}

/** What a webhook delivery handler receives besides the delivery. */
export interface WebhookContext extends UseCaseContext {
  client: WardenClient;
}

/** A use case's inbound webhooks at `POST /v1/webhooks/:source` (HMAC-verified by the core first). */
export interface WebhookRoute {
  /** Sources this use case receives; `'*'` takes every source no other installed use case claims. */
  sources: readonly string[] | '*';
  /**
   * Turns an authentic delivery into an idempotent run start. Throw `WebhookRejected` for a 4xx the
   * sender should see (bad payload); nothing is started then.
   */
  deliver(d: WebhookDelivery, ctx: WebhookContext): Promise<{ workflowId: string; duplicate: boolean }>;
}

/** A Temporal Schedule a use case declares (created or updated by `warden schedule sync` and `warden dev`). */
export interface ScheduleDeclaration {
  /** Schedule id (stable; the business key). */
  id: string;
  description: string;
  /** Cron expressions (UTC) or an interval such as `24h`. */
  cron?: string[];
  interval?: string;
  /** The bundled playbook it runs (a name from `playbooks`). */
  playbook: string;
  input: Record<string, unknown>;
  /** Created paused unless true (a demo should not act on a user's systems uninvited). @default false */
  enabledByDefault?: boolean;
}

/** What `warden dev` gives a use case's demo. */
export interface DemoContext extends UseCaseContext {
  /** Base URL of the local HTTP server (webhooks, API). */
  httpUrl: string;
  client: WardenClient;
  secrets: SecretStore;
  /** False when agent steps have no LLM (no endpoint configured and the local model could not start). */
  agentsReady: boolean;
  /** Prints one line on the `warden dev` console. */
  say(line: string): void;
  /** Aborted when `warden dev` stops: background work must end promptly once it is. */
  signal: AbortSignal;
  /**
   * Work that outlives the demo call (watching its runs, say). `warden dev` aborts `signal` on stop and waits
   * for it, bounded, before it closes the Temporal client: a call still in flight then would throw from the
   * SDK's retry timer. Its failures are swallowed.
   */
  background(work: Promise<unknown>): void;
}

/** A bundled or third-party use case: everything it brings, for the core to register. */
export interface UseCase {
  /** kebab-case, equal to its folder name. */
  name: string;
  /** One line for `warden usecases` and the dev console. */
  description: string;
  /** Its settings (the same object `settings.ts` exports). */
  settings?: SettingsTable;
  /** Agents its playbooks run. */
  agents?: AgentDefinition[];
  /** Tools its playbooks and agents use, built from configuration (workers only). */
  tools?(ctx: UseCaseContext): AnyTool[];
  /** Playbook files by name (YAML), shipped in the folder. */
  playbooks?: Record<string, string>;
  /**
   * A policy fragment (YAML file with `rules:`) for its tools, merged into a policy that sets
   * `useCaseRules: true` (the default policy does), so the policy version covers it.
   */
  policyRules?: string;
  /**
   * Worker-side facts for policy (src/governance/facts.ts): recognises its runs by their input and says,
   * per target of each call, whether it is in the subject's scope and what inventories know of it.
   */
  policyFacts?(ctx: UseCaseContext): PolicyFactsProvider;
  webhooks?: WebhookRoute;
  schedules?: ScheduleDeclaration[];
  /** A threshold-rules file (`rules:`, src/triggers/threshold-rule.ts) it ships, loaded with the operator's. */
  thresholdRules?: string;
  /** `warden dev`'s demo: sends sample input through the use case and says what to look at. */
  demo?(ctx: DemoContext): Promise<unknown>;
  /** Commands it adds to the `warden` CLI (one group, named after the use case or its verbs). */
  cli?(program: Command, io: CliIO): void;
}
