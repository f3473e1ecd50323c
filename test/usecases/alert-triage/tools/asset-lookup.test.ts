import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../../src/config';
import {
  AssetLookupResult,
  createAssetLookupTool,
  findAsset,
  loadAssetInventory,
} from '../../../../src/usecases/alert-triage/tools/asset-lookup';
import { useCase } from '../../../../src/usecases/alert-triage';
import { triageSettings } from '../../../../src/usecases/alert-triage/settings';
import { createLogger } from '../../../../src/telemetry/logger';
import { testToolContext } from '../../../harness/tool-context';

const DEMO_INVENTORY = path.join(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'src',
  'usecases',
  'alert-triage',
  'demo-data',
  'assets.yaml',
);

describe('asset_lookup on the demo inventory', () => {
  const tool = createAssetLookupTool({ inventoryFile: DEMO_INVENTORY });
  const lookup = async (host: string) => AssetLookupResult.parse(await tool.execute({ host }, testToolContext({}).ctx));

  it('is a read tool with no capability', () => {
    expect(tool).toMatchObject({ name: 'asset_lookup', risk: 'read', capabilities: [] });
  });

  it.each([
    ['dc-01.corp.example.com', 'dc-01.corp.example.com', 'critical'],
    ['DC-01.Corp.Example.Com.', 'dc-01.corp.example.com', 'critical'], // case and trailing dot ignored
    ['web-01', 'web-01.corp.example.com', 'high'], // short name
    ['FIN-LAPTOP-07', 'fin-laptop-07.corp.example.com', 'medium'], // alias
    ['10.30.8.112', 'eng-ws-12.corp.example.com', 'low'], // IP
    ['203.0.113.10', 'web-01.corp.example.com', 'high'], // second IP of a host
  ])('finds %s as %s (%s)', async (host, hostname, criticality) => {
    expect(await lookup(host)).toMatchObject({ host, found: true, hostname, criticality });
  });

  it('returns owner and tags', async () => {
    expect(await lookup('dc-01')).toEqual({
      host: 'dc-01',
      found: true,
      hostname: 'dc-01.corp.example.com',
      owner: 'identity-team@example.com',
      criticality: 'critical',
      tags: ['domain-controller', 'tier-0', 'prod'],
    });
  });

  it('treats an unknown host as high criticality, never low', async () => {
    expect(await lookup('unknown-host.corp.example.com')).toEqual({
      host: 'unknown-host.corp.example.com',
      found: false,
      owner: 'unknown',
      criticality: 'high',
      tags: [],
    });
    // A qualified name in another domain is not the same host as a short-name match.
    expect((await lookup('web-01.other.example.org')).found).toBe(false);
  });

  it('reports the configured criticality for unknown hosts', async () => {
    const strict = createAssetLookupTool({ inventoryFile: DEMO_INVENTORY, unknownCriticality: 'critical' });
    expect(await strict.execute({ host: '10.255.0.1' }, testToolContext({}).ctx)).toMatchObject({
      found: false,
      criticality: 'critical',
    });
  });
});

describe('asset inventory files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-assets-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };

  it('reads a JSON list', () => {
    const file = write('assets.json', JSON.stringify([{ hostname: 'db-1', owner: 'dba', criticality: 'high' }]));
    expect(loadAssetInventory(file)).toEqual([
      { hostname: 'db-1', owner: 'dba', criticality: 'high', aliases: [], tags: [] },
    ]);
  });

  it('lets the most critical asset win an ambiguous short name', () => {
    const assets = loadAssetInventory(
      write(
        'a.yaml',
        'assets:\n  - { hostname: app.dev.example.com, owner: a, criticality: low }\n  - { hostname: app.prod.example.com, owner: b, criticality: critical }\n',
      ),
    );
    expect(findAsset(assets, 'APP')?.hostname).toBe('app.prod.example.com');
  });

  it('lists every problem of an invalid inventory with its entry', () => {
    const file = write('bad.yaml', '- { hostname: a, owner: x, criticality: urgent }\n- { hostname: b }\n');
    expect(() => loadAssetInventory(file)).toThrow(/entry 0\.criticality.*\n.*entry 1\.owner/s);
  });

  it('says which file and setting when the inventory is missing or not YAML', () => {
    expect(() => loadAssetInventory(path.join(dir, 'none.yaml'))).toThrow(
      /none\.yaml \(ENOENT\).*WARDEN_ASSET_INVENTORY_FILE/,
    );
    expect(() => loadAssetInventory(write('x.yaml', 'a: [b\n'))).toThrow(/not valid YAML\/JSON/);
  });
});

describe('enrichment settings', () => {
  const DEMO_INTEL = path.resolve(
    __dirname,
    '..',
    '..',
    '..',
    '..',
    'src',
    'usecases',
    'alert-triage',
    'demo-data',
    'intel',
  );
  const triage = (env: Record<string, string>) => {
    const config = loadConfig(env);
    return { config, s: triageSettings(config.usecases.settings['alert-triage'] ?? {}, config.http_request.timeoutMs) };
  };
  const toolNames = (config: ReturnType<typeof loadConfig>) =>
    (
      useCase.tools?.({
        config,
        settings: config.usecases.settings['alert-triage'] ?? {},
        logger: createLogger({ level: 'silent' }),
      }) ?? []
    ).map((t) => t.name);

  it('defaults to the demo samples, so a fresh clone has working lookups', () => {
    const { config, s } = triage({});
    expect(s.intel.dir).toBe(DEMO_INTEL);
    expect(s.intel.feeds).toEqual([]);
    expect(s.assets).toEqual({ inventoryFile: DEMO_INVENTORY, unknownCriticality: 'high' });
    const names = toolNames(config);
    expect(names).toEqual(expect.arrayContaining(['intel_lookup', 'asset_lookup', 'case_write']));
    expect(names).not.toContain('intel_http_lookup');
  });

  it('takes explicit feeds instead of the demo directory, and registers the HTTP provider when configured', () => {
    const { config, s } = triage({
      WARDEN_INTEL_FEEDS: `ipsum=${path.join(DEMO_INTEL, 'ipsum_demo.tsv')}`,
      WARDEN_INTEL_HTTP_URL: 'https://intel.example.com/v1/lookup',
    });
    expect(s.intel.dir).toBeUndefined();
    expect(s.intel.feeds).toEqual([{ kind: 'ipsum', file: expect.stringContaining('ipsum_demo.tsv') as string }]);
    expect(s.intel.http).toMatchObject({ url: 'https://intel.example.com/v1/lookup', authHeader: 'x-api-key' });
    expect(toolNames(config)).toContain('intel_http_lookup');
  });

  it('rejects an unknown feed kind and a low default criticality', () => {
    expect(() => loadConfig({ WARDEN_INTEL_FEEDS: 'virustotal=/x.csv' })).toThrow(/WARDEN_INTEL_FEEDS.*kind=path/);
    expect(() => loadConfig({ WARDEN_ASSET_UNKNOWN_CRITICALITY: 'low' })).toThrow(/WARDEN_ASSET_UNKNOWN_CRITICALITY/);
  });
});
