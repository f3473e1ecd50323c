/*
 * Libraries every run in a worker thread shares instead of initialising its own copy. With the SDK's
 * reusable V8 context, module scope is per run: each run evaluates every module it loads afresh, and a
 * cached run keeps that state. This module is preloaded once per workflow thread, before any run exists
 * (runtime/workflow-bundle.ts, `preloadModules`), so the libraries below land in the shared module cache.
 *
 * Only stateless libraries belong here (schema builders, pure functions, constant tables, caches of pure
 * results). Never Warden's own modules, @temporalio/*, or OpenTelemetry's API: they keep per-run state.
 * Each import is used below so that webpack cannot drop it (these packages declare no side effects).
 */
import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex } from '@noble/hashes/utils';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import canonicalize from 'canonicalize';
import jmespath from 'jmespath';
import { z } from 'zod';
import { util as zodUtil } from 'zod/v4/core';

// The SDK deep-freezes what is preloaded once this module has run. zod sets its defaults (locale,
// memoizer, whether eval is allowed) lazily, into its global state, on the first schema and parse: make
// that happen now, while that state may still change.
z.object({ a: z.string(), b: z.record(z.string(), z.number()) }).safeParse({ a: 'x', b: { c: 1 } });
void zodUtil.allowsEval.value;

/** What is shared; read by nothing, kept so the bundler keeps every import. */
export const PRELOADED = [ed25519, sha256, bytesToHex, ATTR_SERVICE_NAME, canonicalize, jmespath, z];
