import { loadConfig } from '../../../src/config';
import { ConfigError } from '../../../src/errors';
import { buildToolRegistry, coreTools } from '../../../src/tools';
import type { WardenConfig } from '../../../src/config';

const createDefaultTools = (config: WardenConfig) => buildToolRegistry(coreTools(config));

describe('containment tools among the core tools', () => {
  it('ships every containment tool, pointed at the configured vendors', () => {
    const config = loadConfig({ WARDEN_OKTA_BASE_URL: 'https://acme.okta.com' });
    expect(config.containment).toEqual({
      crowdstrikeBaseUrl: 'https://api.crowdstrike.com',
      oktaBaseUrl: 'https://acme.okta.com',
    });
    const names = createDefaultTools(config)
      .list()
      .map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'edr_isolate_host',
        'edr_release_host',
        'block_indicator',
        'idp_disable_user',
        'idp_enable_user',
      ]),
    );
  });

  it('registers the Okta tools even without an Okta org (they refuse at call time)', () => {
    const config = loadConfig({});
    expect(config.containment.oktaBaseUrl).toBeUndefined();
    expect(createDefaultTools(config).get('idp_disable_user')).toBeDefined();
  });

  it('rejects a vendor URL that would send credentials over plain HTTP', () => {
    expect(() => loadConfig({ WARDEN_CROWDSTRIKE_BASE_URL: 'http://api.crowdstrike.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ WARDEN_OKTA_BASE_URL: 'not a url' })).toThrow(/WARDEN_OKTA_BASE_URL/);
    expect(loadConfig({ WARDEN_OKTA_BASE_URL: 'http://127.0.0.1:9999' }).containment.oktaBaseUrl).toBe(
      'http://127.0.0.1:9999',
    );
  });
});
