import type { AnyTool } from '../types';
import { createBlockIndicatorTool } from './block-indicator';
import { FalconClient } from './crowdstrike';
import { createEdrTools } from './edr-tools';
import { createIdpTools } from './idp-tools';

export {
  BlockIndicatorInput,
  BlockIndicatorResult,
  CROWDSTRIKE_IOCS_WRITE,
  createBlockIndicatorTool,
} from './block-indicator';
export { FalconClient } from './crowdstrike';
export type { FalconCall, FalconClientOptions, FalconDevice, FalconIndicator } from './crowdstrike';
export { parseFalconCredential } from './falcon-credentials';
export type { FalconCredentials } from './falcon-credentials';
export { CROWDSTRIKE_HOSTS_WRITE, EdrHostInput, EdrHostResult, createEdrTools } from './edr-tools';
export { IdpDisableUserInput, IdpUserInput, IdpUserResult, OKTA_USERS_MANAGE, createIdpTools } from './idp-tools';
export type { IdpToolsConfig } from './idp-tools';
export { OktaClient } from './okta';
export type { OktaCall, OktaClientOptions, OktaUser } from './okta';
export { VendorError, VendorRefusedError } from './vendor-http';
export type { VendorErrorDetails } from './vendor-http';

/** Where the containment tools' vendors live: WARDEN_CROWDSTRIKE_BASE_URL and WARDEN_OKTA_BASE_URL. */
export interface ContainmentConfig {
  crowdstrikeBaseUrl: string;
  /** Unset: the Okta tools are registered but refuse every call, naming the setting. */
  oktaBaseUrl: string | undefined;
  /** Limit for one vendor request. @default 15000 */
  timeoutMs?: number;
}

/**
 * The containment tools: `edr_isolate_host`, `edr_release_host`, `block_indicator` (CrowdStrike Falcon,
 * one shared client so bearer tokens are reused) and `idp_disable_user`, `idp_enable_user` (Okta).
 */
export function createContainmentTools(config: ContainmentConfig): AnyTool[] {
  const timeout = config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs };
  const falcon = new FalconClient({ baseUrl: config.crowdstrikeBaseUrl, ...timeout });
  return [
    ...createEdrTools(falcon),
    createBlockIndicatorTool(falcon),
    ...createIdpTools({ oktaBaseUrl: config.oktaBaseUrl, ...timeout }),
  ];
}
