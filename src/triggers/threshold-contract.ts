import { defineQuery, defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
import type { Playbook } from '../governance/steps';

/*
 * The contract between the threshold ingest (HTTP route, poll activities) and the `thresholdEntity`
 * workflow: names, payloads and ids. Workflow-safe (zod and Temporal definitions only): the workflow
 * imports it, so it must stay free of I/O and Node built-ins.
 */

/** Workflow-id prefix of threshold entities: `threshold-entity-<rule>-<ruleDigest>-<keyId>`. */
export const THRESHOLD_ENTITY_PREFIX = 'threshold-entity-';
/** Workflow-id prefix of the runs a threshold fires: `threshold-run-<rule>-<keyId>-<breachStartIso>`. */
export const THRESHOLD_RUN_PREFIX = 'threshold-run-';

/** A threshold rule after validation: durations in ms, the playbook inline, a digest of it all. */
export interface CompiledThresholdRule {
  id: string;
  description?: string;
  stream: string;
  /** JMESPath over the event; a truthy result counts the event. Absent = every event of the stream. */
  match?: string;
  /** JMESPath over the event giving the key the events are counted per (e.g. `user.name`). */
  key: string;
  /** N: a breach is N matching events of one key within `windowMs`. */
  threshold: number;
  windowMs: number;
  /** After a breach fires, events of the same key until breach end + cooldown are suppressed. */
  cooldownMs: number;
  /** How long event ids are remembered, so a retried delivery is counted once. */
  dedupeForMs: number;
  /** How many of the breach's events (newest first) are attached to the run's input, in full. */
  attach: number;
  playbook: Playbook;
  /** Template rendered over `{ rule, key, events, breach }` into the run's input (JMESPath `{{ }}`). */
  input: Record<string, unknown>;
  /** sha256 (hex, 12 chars) of the canonical rule; part of the entity id, so a changed rule counts afresh. */
  digest: string;
}

/** One event as an entity receives it (already matched and keyed by the ingest). */
export const EntityEvent = z
  .object({
    /** The sender's event id: the deduplication key. */
    id: z.string().min(1).max(128),
    /** Effective event time (ms since epoch): the event's own `time`, never later than `receivedAt`. */
    time: z.number().int().nonnegative(),
    /** When Warden received it (ms since epoch, the ingest's clock). */
    receivedAt: z.number().int().nonnegative(),
    /** The event itself, as sent. */
    event: z.record(z.string(), z.unknown()),
  })
  .strict();
/** One event as an entity receives it. */
export type EntityEvent = z.infer<typeof EntityEvent>;

/** Payload of {@link thresholdEventsSignal}: the events of one delivery for this (rule, key). */
export const ThresholdEventsPayload = z.object({ events: z.array(EntityEvent).min(1).max(1000) }).strict();
/** Payload of {@link thresholdEventsSignal}. */
export type ThresholdEventsPayload = z.infer<typeof ThresholdEventsPayload>;

/**
 * Delivers events to a threshold entity. Sent with signal-with-start by the ingest; a malformed payload is
 * refused (counted in `stats.refused`), never thrown. Operators may send it with `temporal workflow signal`.
 */
export const thresholdEventsSignal = defineSignal<[ThresholdEventsPayload]>('thresholdEvents');

/** One breach the entity acted on. */
export interface FireRecord {
  workflowId: string;
  breachStart: string;
  breachEnd: string;
  count: number;
  /** Ids of the attached events (at most `attach`). */
  eventIds: string[];
  firedAt: string;
  /** started: the run was started now; duplicate: a run with this id already existed (never a second one). */
  status: 'started' | 'duplicate' | 'failed';
  error?: string;
}

/** Counters an entity keeps across continue-as-new. */
export interface ThresholdStats {
  /** Events delivered (including duplicates). */
  received: number;
  /** Events counted into the window. */
  counted: number;
  duplicates: number;
  /** Events inside a cooldown (or already covered by a breach). */
  suppressed: number;
  /** Events more than a window older than the newest one. */
  late: number;
  /** Signals with a malformed payload. */
  refused: number;
  fired: number;
}

/** What {@link thresholdStateQuery} returns. */
export interface ThresholdEntityView {
  rule: string;
  key: string;
  pending: number;
  cooldownUntil: string | undefined;
  stats: ThresholdStats;
  /** The most recent breaches (up to 20), oldest first. */
  fires: FireRecord[];
  /** Continue-as-new generation (0 for the first run). */
  generation: number;
}

/** The entity's counters, window size and recent breaches. */
export const thresholdStateQuery = defineQuery<ThresholdEntityView>('thresholdState');

/** Input of `thresholdEntity`. */
export interface ThresholdEntityInput {
  rule: CompiledThresholdRule;
  /** The key as the rule's key expression produced it (templates see it as `key`). */
  key: string;
  /** The key as it appears in workflow ids (the key itself when safe, else a hash of it). */
  keyId: string;
  /** State carried across continue-as-new. */
  carried?: { window: unknown; generation: number };
}

/** The entity's workflow id for (rule, key): one per rule version and key, fleet-wide. */
export function thresholdEntityId(rule: Pick<CompiledThresholdRule, 'id' | 'digest'>, keyId: string): string {
  return `${THRESHOLD_ENTITY_PREFIX}${rule.id}-${rule.digest}-${keyId}`;
}

/**
 * The workflow id of the run a breach fires: a function of (rule, key, breach start) only, so a replay, a
 * retried start or a second entity for the same events can never start a second run.
 */
export function thresholdRunId(ruleId: string, keyId: string, breachStartMs: number): string {
  return `${THRESHOLD_RUN_PREFIX}${ruleId}-${keyId}-${new Date(breachStartMs).toISOString()}`;
}
