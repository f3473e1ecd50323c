import type { ToolTarget } from '../tools/types';

/*
 * Policy facts: what Warden itself establishes about one governed call, for policy to decide on — never
 * what a playbook's `context`, a caller or a model claims. The worker computes them in `decideAction`
 * (a local activity, so they are recorded with the decision) from the tool's declared targets, the run's
 * own input as its verified initiator supplied it, and lookups the use case runs in worker code.
 * Types and pure functions only.
 */

/** Facts about one target: the tool's declaration, plus what the run's use case established. */
export type TargetFacts = ToolTarget & {
  /** The target is named by the run's subject in a field it trusts (vendor-reported, not attacker text). */
  inScope: boolean;
  [fact: string]: unknown;
};

/** What policy reads as `facts` in a rule's `when`. */
export interface PolicyFacts {
  /** What the run is about ('alert'), when an installed use case recognised its input; absent otherwise. */
  subject?: string;
  /** How the run's initiator is known: false when it could not be verified (`unverified:<claim>`). */
  trigger: { initiatorVerified: boolean };
  /** False when the tool does not say what it acts on (its targets are unknown). */
  targetsDeclared: boolean;
  /** One entry per declared target, in the tool's order. */
  targets: TargetFacts[];
  /**
   * True only when a subject is known, the tool declared its targets and every one is in the subject's
   * scope (vacuously true for a tool that touches nothing outside the run, such as its own case file).
   */
  allTargetsInScope: boolean;
  /** Facts about the subject itself (for an alert: severity, detection type, vendor). */
  about?: Record<string, unknown>;
  /** Why facts could not be established (policy then sees no subject and fails closed). */
  error?: string;
}

/** What a use case's facts provider receives for one call. */
export interface PolicyFactsRequest {
  /** The run's input (for a forEach batch, its parent run's input). */
  input: unknown;
  tool: string;
  /** The arguments after the tool's schema. */
  args: unknown;
  targets: ToolTarget[];
  initiatorVerified: boolean;
}

/** What a provider establishes, when the run is one of its own. */
export interface ProvidedFacts {
  subject: string;
  /** Per declared target, in order: at least whether it is in scope. */
  targets: Array<{ inScope: boolean; [fact: string]: unknown }>;
  about?: Record<string, unknown>;
}

/**
 * A use case's facts provider (worker code): establishes the facts of a call when it recognises the run's
 * input as its subject, or returns undefined. It may read inventories; it must not trust anything the
 * input's untrusted parts say.
 */
export type PolicyFactsProvider = (req: PolicyFactsRequest) => Promise<ProvidedFacts | undefined>;

/**
 * Establishes a call's facts: the first provider that recognises the run decides its subject and per-target
 * facts. A provider that fails or answers for the wrong number of targets gives no subject (fail closed).
 */
export async function establishFacts(
  providers: readonly PolicyFactsProvider[],
  req: PolicyFactsRequest & { targetsDeclared: boolean },
): Promise<PolicyFacts> {
  const base = { trigger: { initiatorVerified: req.initiatorVerified }, targetsDeclared: req.targetsDeclared };
  const unscoped = (error?: string): PolicyFacts => ({
    ...base,
    targets: req.targets.map((t) => ({ ...t, inScope: false })),
    allTargetsInScope: false,
    ...(error ? { error } : {}),
  });
  for (const provide of providers) {
    let provided: ProvidedFacts | undefined;
    try {
      provided = await provide(req);
    } catch (err) {
      return unscoped(`facts could not be established: ${(err as Error).message}`);
    }
    if (!provided) continue;
    if (provided.targets.length !== req.targets.length)
      return unscoped(`facts provider for ${provided.subject} answered for the wrong number of targets`);
    const targets = req.targets.map((t, i) => ({
      ...provided.targets[i],
      ...t,
      inScope: provided.targets[i]!.inScope === true,
    }));
    return {
      ...base,
      subject: provided.subject,
      targets,
      allTargetsInScope: req.targetsDeclared && targets.every((t) => t.inScope),
      ...(provided.about ? { about: provided.about } : {}),
    };
  }
  return unscoped();
}
