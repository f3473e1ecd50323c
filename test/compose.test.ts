import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { allSettings, loadConfig } from '../src/config';

const root = path.join(__dirname, '..');

describe('docker-compose.yml', () => {
  const compose = YAML.parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
    services: Record<
      string,
      { environment?: Record<string, string>; command?: string[]; build?: string; depends_on?: unknown }
    >;
  };
  const wardenServices = Object.entries(compose.services).filter(([, s]) => s.build);

  it('has Temporal, PostgreSQL, the Web UI, Warden workers and the Warden HTTP server', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgresql', 'temporal', 'temporal-ui']));
    expect(wardenServices.map(([, s]) => s.command?.[0]).sort()).toEqual(['serve', 'worker']);
  });

  it('configures Warden services only with settings config.ts knows, and valid values', () => {
    for (const [name, service] of wardenServices) {
      const env = service.environment ?? {};
      const known = new Set(allSettings().map((s) => s.name));
      const unknown = Object.keys(env).filter((k) => !known.has(k));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
      expect(() => loadConfig(env)).not.toThrow();
    }
  });

  it('points Warden at the compose Temporal service', () => {
    for (const [, service] of wardenServices) expect(service.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('the Dockerfile builds with the pinned lockfile and runs the warden binary', () => {
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "bin\/warden.js"\]/);
  });
});
