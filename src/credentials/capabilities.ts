import type { Capability } from '../tools/types';

/*
 * Capabilities: what a tool needs ({ provider, scopes }) and what policy grants a step. Pure functions, no
 * secrets here.
 */

/** The naming convention: provider `edr` → secret `edr.api_token` (scopes do not change the secret). */
export function defaultSecretName(capability: Capability): string {
  return `${capability.provider}.api_token`;
}

/** `edr[hosts.read,hosts.isolate]`, for messages. */
export function formatCapability(c: Capability): string {
  return `${c.provider}[${c.scopes.join(',')}]`;
}

/**
 * True when `granted` covers `wanted`: same provider, and every wanted scope is granted (a granted `*`
 * covers every scope). Scopes may be spread over several grants of one provider.
 */
export function isGranted(wanted: Capability, granted: readonly Capability[]): boolean {
  const mine = granted.filter((g) => g.provider === wanted.provider);
  if (!mine.length) return false;
  const scopes = new Set(mine.flatMap((g) => g.scopes));
  return scopes.has('*') || wanted.scopes.every((s) => scopes.has(s));
}
