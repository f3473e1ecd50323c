import type { WardenClient } from '../client';
import type { WardenConfig } from '../config';
import type { Logger } from '../telemetry/logger';
import type { UseCase, WebhookRoute } from '../usecases/contract';
import { enabledUseCases, useCaseContext } from '../usecases/registry';
import type { WebhookOptions } from './webhooks';
import { boundedTemporalCall } from './backpressure';
import { cachedSecretLookup } from './signed-request';
import { WebhookRejected, webhookSecretName } from './webhooks';

/** The use case that receives a webhook source: one that names it, else the one that takes `'*'`. */
export function routeFor(
  routes: { uc: UseCase; route: WebhookRoute }[],
  source: string,
): { uc: UseCase; route: WebhookRoute } | undefined {
  return (
    routes.find((r) => r.route.sources !== '*' && r.route.sources.includes(source)) ??
    routes.find((r) => r.route.sources === '*')
  );
}

/**
 * The webhook ingress of every enabled use case, for `registerWebhooks`: the HMAC secret of each source
 * comes from the secret store (`webhook.<source>`), and an authentic delivery goes to the use case that
 * receives that source. Used by `warden serve` and `warden dev` alike.
 */
export function useCaseWebhooks(opts: {
  config: WardenConfig;
  client: WardenClient;
  logger: Logger;
  secrets: { get(name: string): Promise<string | undefined> };
}): WebhookOptions {
  const { config, client, logger } = opts;
  const routes = enabledUseCases(config).flatMap((uc) => (uc.webhooks ? [{ uc, route: uc.webhooks }] : []));
  const taken = new Map<string, string>();
  for (const { uc, route } of routes) {
    for (const s of route.sources === '*' ? ['*'] : route.sources) {
      const other = taken.get(s);
      if (other) throw new Error(`webhook source "${s}" is claimed by both ${other} and ${uc.name}`);
      taken.set(s, uc.name);
    }
  }
  return {
    maxBytes: config.webhooks.maxBytes,
    secretFor: cachedSecretLookup(
      (source) => (routeFor(routes, source) ? opts.secrets.get(webhookSecretName(source)) : Promise.resolve(undefined)),
      config.webhooks.secretCacheMs,
    ),
    deliver: (d) => {
      const r = routeFor(routes, d.source);
      if (!r) throw new WebhookRejected(404, `no enabled use case receives webhook source "${d.source}"`);
      // Bounded: with Temporal unreachable the sender gets a 503 and Retry-After, not a hung connection.
      return boundedTemporalCall(client, () => r.route.deliver(d, { ...useCaseContext(r.uc, config, logger), client }));
    },
  };
}
