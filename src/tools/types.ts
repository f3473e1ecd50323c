import type { z } from 'zod';
import type { Logger } from '../telemetry/logger';
import type { WriteIntent } from './write-intent';

/** How much harm a tool can do: policy's first input. */
export type Risk = 'read' | 'write' | 'destructive';

/** A credential capability a tool needs (a provider and the scopes it asks for). */
export interface Capability {
  provider: string;
  scopes: string[];
}

/**
 * One thing a call acts on: a host, device, user or indicator. Policy decides on facts Warden computes per
 * target (is it in the run's scope, what the asset inventory says), never on what the caller claims.
 * `kind` is one of the scope kinds use cases know (host, deviceId, user, ip, domain, sha256, md5, url).
 */
export interface ToolTarget {
  kind: string;
  value: string;
  /** True when the action applies beyond the target itself (a fleet-wide block of a hash). */
  global?: boolean;
}

/** What a tool receives besides its arguments while executing inside an activity. */
export interface ToolContext {
  /** workflowId/stepId/callId: stable across activity retries; side-effecting tools pass it to the vendor. */
  idempotencyKey: string;
  /** The calling run's workflow id, from Temporal (not from the arguments): scope the run's own writes by it. */
  workflowId: string;
  /** Aborted when the activity is cancelled (run cancelled, timeout, worker shutting down). */
  signal: AbortSignal;
  logger: Logger;
  /**
   * Whom the run acts for: its initiator as the run established it (a verified principal, a service such
   * as `webhook:<source>`, or `unverified:<claim>`). Absent outside a run.
   */
  onBehalfOf?: string;
  /** Reports liveness for long calls (the activity's heartbeat). */
  heartbeat(details?: unknown): void;
  /**
   * Announces a vendor write before it is sent, for a vendor that takes no idempotency key: call it after
   * reading the target's state and just before writing. It is kept in the activity's heartbeat details, which
   * Temporal hands to the next attempt of this call as `priorWrite`, and resolves once the Temporal server has
   * recorded it (when the worker has a client to ask; otherwise once it is queued). Rejects, with nothing
   * written, when it could not be recorded: the tool must then not write.
   */
  announceWrite(intent: WriteIntent): Promise<void>;
  /**
   * The write an earlier attempt of this same call announced, if any (it may or may not have reached the
   * vendor). With `appliedByEarlierAttempt` a retry tells "already so" from "done by this call's first try".
   */
  priorWrite?: WriteIntent;
  /**
   * The secret for one of the tool's declared capabilities, through a lease scoped to this call (run,
   * step, call, capability) that expires with the activity. Refused when policy did not grant it. Never
   * log it, return it or put it in an error message.
   */
  credential(capability: Capability): Promise<string>;
}

/**
 * A tool: the only way a run touches the world. Arguments are validated against `input` before
 * `execute` runs and results against `output` after; both happen in the tool activity, never in workflow code.
 */
export interface ToolDefinition<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: I;
  output: O;
  /** Static risk; see `riskFor` when it depends on the arguments. */
  risk: Risk;
  /** Effective risk for these (validated) arguments, e.g. GET is `read`, POST is `write`. Never lower than needed. */
  riskFor?(args: z.output<I>): Risk;
  /** Credential capabilities the tool needs; policy must grant them per step. */
  capabilities: Capability[];
  /**
   * What these (validated) arguments act on, for policy's per-target facts. Every write tool should
   * declare it; `[]` means it touches nothing outside the run (its own case file). A write without it has
   * undeclared targets, which a scoped run's policy denies.
   */
  targets?(args: z.output<I>): ToolTarget[];
  /** Calls of one class share a fleet-wide rate limit (see README "Circuit breakers and rate limits"). */
  rateLimitClass?: string;
  /** Circuit-breaker key: calls to one integration trip one breaker. @default the tool name */
  integration?: string;
  /**
   * Why the tool cannot be used now, or undefined when it can: policy denies a call while this returns a
   * reason (an MCP tool that policy does not classify, or whose server changed since it was pinned).
   */
  unavailable?(): string | undefined;
  /** One line for the Web UI, e.g. "POST api.example.com/v1/tickets". */
  summarize?(args: z.output<I>): string;
  execute(args: z.output<I>, ctx: ToolContext): Promise<z.input<O>>;
}

/**
 * Thrown by a tool that refuses a call by rule (host not allowed, forbidden address…): retrying cannot
 * help, so the activity fails at once with PolicyDenied instead of retrying.
 */
export class ToolRefusedError extends Error {
  override readonly name: string = 'ToolRefusedError';
}

/** Any tool, for collections. */
export type AnyTool = ToolDefinition<z.ZodType, z.ZodType>;

/** Identity function that keeps a tool definition's argument and result types inferred. */
export function defineTool<I extends z.ZodType, O extends z.ZodType>(def: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return def;
}

/** The tools a worker can run, by name. Unknown names are denied by policy before anything runs. */
export class ToolRegistry {
  private readonly tools = new Map<string, AnyTool>();

  constructor(tools: AnyTool[] = []) {
    for (const t of tools) this.register(t);
  }

  /** Adds a tool. @throws when the name is taken (two tools must never share a name). */
  register(tool: AnyTool): this {
    if (this.tools.has(tool.name)) throw new Error(`tool "${tool.name}" is registered twice`);
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(tool.name))
      throw new Error(`tool name "${tool.name}" must be snake_case (a-z, 0-9, _)`);
    this.tools.set(tool.name, tool);
    return this;
  }

  get(name: string): AnyTool | undefined {
    return this.tools.get(name);
  }

  list(): AnyTool[] {
    return [...this.tools.values()];
  }
}
