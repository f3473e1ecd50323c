import { z } from 'zod';
import { StartAttestation } from '../identity/signed-request';
import { Playbook } from '../governance/steps';
import type { DecisionRecord, RunStatus, StepRecord } from './engine/state';

/*
 * Input and result contracts of every workflow, with the zod schema the client and HTTP server use to
 * reject bad input before a run starts. Workflow-safe (zod is pure), but not exported from the workflow
 * barrel, so it never becomes a workflow type.
 */

/** Input of `healthCheck`. */
export const HealthCheckInput = z.object({ requestedBy: z.string().min(1).max(200).optional() }).strict();
/** Input of `healthCheck`. */
export type HealthCheckInput = z.infer<typeof HealthCheckInput>;

/** What the worker that ran the activity says about itself. */
export interface WorkerDescription {
  identity: string;
  hostname: string;
  pid: number;
  taskQueue: string;
  sdkVersion: string;
  nodeVersion: string;
  wardenVersion: string;
}

/** Result of `healthCheck`. */
export interface HealthCheckResult {
  requestedBy: string;
  workflowId: string;
  taskQueue: string;
  worker: WorkerDescription;
  roundTripMs: number;
}

/** Input of `runPlaybook`. */
export const RunPlaybookInput = z
  .object({
    playbook: Playbook,
    /** Data the steps' expressions see as `input`. */
    input: z.record(z.string(), z.unknown()).default({}),
    /** Who started the run; they may not approve its actions. A claim until `attestation` proves it. */
    initiator: z.string().min(1).max(200),
    trigger: z.object({ type: z.string(), ref: z.string().optional() }).optional(),
    /** Proof of the initiator (signed by them, or by a Warden service); without it the initiator is unverified. */
    attestation: StartAttestation.optional(),
  })
  .strict();
/** Input of `runPlaybook`. */
export type RunPlaybookInput = z.infer<typeof RunPlaybookInput>;

/** Result of `runPlaybook`. */
export interface RunPlaybookResult {
  status: RunStatus;
  outputs: Record<string, unknown>;
  steps: StepRecord[];
  decisions: DecisionRecord[];
  /** forEach batch decisions beyond those in `decisions` (a large fan-out): every one is in the audit ledger. */
  decisionsNotShown?: number;
}

/** A workflow type Warden's client can start, with its input schema and a one-line description. */
export interface CatalogEntry {
  description: string;
  input: z.ZodType;
  /** Workflow-id prefix for runs started without an explicit id. */
  idPrefix: string;
  /** The run's one-line summary in the Web UI (Temporal user metadata), from its validated input. */
  summarize(input: never): string;
}

/** Every startable workflow type. */
export const WORKFLOW_CATALOG: Record<string, CatalogEntry> = {
  healthCheck: {
    description: 'End-to-end check: client → Temporal → worker → activity → back',
    input: HealthCheckInput,
    idPrefix: 'health-check',
    summarize: (i: HealthCheckInput) => `health check${i.requestedBy ? ` requested by ${i.requestedBy}` : ''}`,
  },
  runPlaybook: {
    description: 'Run a playbook of action, approval, branch and forEach steps under policy',
    input: RunPlaybookInput,
    idPrefix: 'run',
    summarize: (i: RunPlaybookInput) => `playbook ${i.playbook.name} — started by ${i.initiator}`,
  },
};
