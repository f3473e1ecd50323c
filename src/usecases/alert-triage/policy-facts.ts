import type { PolicyFactsProvider, ProvidedFacts } from '../../governance/facts';
import type { NormalizedAlert } from './alert';
import { NormalizedAlert as NormalizedAlertSchema } from './alert';
import type { AlertTargets, TargetKind } from './scope';
import { TARGET_KINDS, inScopeTargets, isInScope, namedTargets, normalizeTarget } from './scope';
import type { AssetLookupConfig, InventoryAsset } from './tools/asset-lookup';
import { findAsset, loadAssetInventory } from './tools/asset-lookup';

/*
 * Alert triage's policy facts, computed in the worker for every governed call of a run whose input
 * carries a normalized alert (`input.alert`, as the webhook's verified normalization produced it). Per
 * target: whether the alert names it in a field its vendor vouches for (`inScope`), whether it names it
 * at all (`namedInAlert`, e.g. only in attacker-writable log text), and for hosts and devices the asset
 * inventory's record — looked up here for this very target, not taken from the playbook. About the alert:
 * its id, vendor, severity and detection type.
 */

/** What policy sees about a host or device target. */
export interface AssetFacts {
  found: boolean;
  /** The host the inventory was asked about (a device id is resolved through the alert's trusted hosts). */
  host?: string;
  hostname?: string;
  criticality: InventoryAsset['criticality'];
  tags: string[];
}

function isKind(kind: string): kind is TargetKind {
  return (TARGET_KINDS as readonly string[]).includes(kind);
}

/** The alert host a device id belongs to, among the hosts the vendor vouches for. */
function hostOfDevice(alert: NormalizedAlert, deviceId: string): string | undefined {
  const wanted = normalizeTarget('deviceId', deviceId);
  return alert.assets.hosts.find(
    (h) => h.trusted && h.deviceId !== undefined && normalizeTarget('deviceId', h.deviceId) === wanted,
  )?.hostname;
}

function assetFacts(
  assets: InventoryAsset[],
  unknown: AssetFacts['criticality'],
  host: string | undefined,
): AssetFacts {
  const found = host === undefined ? undefined : findAsset(assets, host);
  if (!found) return { found: false, ...(host ? { host } : {}), criticality: unknown, tags: [] };
  return { found: true, host: host!, hostname: found.hostname, criticality: found.criticality, tags: found.tags };
}

/**
 * The alert-triage facts provider over an asset inventory (read now; a broken inventory stops the worker).
 * Runs whose input has no valid normalized alert are not its own (undefined: policy sees no subject).
 */
export function createAlertFactsProvider(config: AssetLookupConfig): PolicyFactsProvider {
  const assets = loadAssetInventory(config.inventoryFile);
  const unknown = config.unknownCriticality ?? 'high';
  return (req) => {
    const parsed = NormalizedAlertSchema.safeParse((req.input as { alert?: unknown } | null | undefined)?.alert);
    if (!parsed.success) return Promise.resolve(undefined);
    const alert = parsed.data;
    const trusted: AlertTargets = inScopeTargets(alert);
    const named: AlertTargets = namedTargets(alert);
    const targets = req.targets.map((t) => {
      const known = isKind(t.kind);
      const facts: ProvidedFacts['targets'][number] = {
        inScope: known && isInScope(trusted, t.kind as TargetKind, t.value),
        namedInAlert: known && isInScope(named, t.kind as TargetKind, t.value),
      };
      if (t.kind === 'host') facts.asset = assetFacts(assets, unknown, t.value);
      if (t.kind === 'deviceId') facts.asset = assetFacts(assets, unknown, hostOfDevice(alert, t.value));
      return facts;
    });
    return Promise.resolve({
      subject: 'alert',
      targets,
      about: {
        alertId: alert.alertId,
        source: alert.source,
        vendor: alert.vendor,
        severity: alert.severity,
        detectionType: alert.detectionType,
      },
    });
  };
}
