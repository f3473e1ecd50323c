import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { allSettings, loadConfig } from '../src/config';

const root = path.join(__dirname, '..');

interface Service {
  environment?: Record<string, string>;
  command?: string[];
  build?: string;
  depends_on?: unknown;
  ports?: string[];
  secrets?: string[];
  volumes?: string[];
  deploy?: { replicas?: number };
}

describe('docker-compose.yml', () => {
  const compose = YAML.parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, Service>;
    secrets?: Record<string, { file?: string }>;
    volumes?: Record<string, unknown>;
  };
  const wardenServices = Object.entries(compose.services).filter(([, s]) => s.build);
  const workers = wardenServices.filter(([, s]) => s.command?.[0] === 'worker').map(([, s]) => s);

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

  describe('secure defaults', () => {
    /** Host address a `ports:` entry publishes on; a bare `host:container` publishes on every interface. */
    const publishedOn = (p: string): string => {
      const parts = p.split(':');
      return parts.length >= 3 ? parts.slice(0, -2).join(':') : '0.0.0.0';
    };

    it("keeps Temporal's gRPC frontend inside the compose network (nothing publishes 7233)", () => {
      expect(compose.services.temporal!.ports ?? []).toEqual([]);
      for (const [name, s] of Object.entries(compose.services))
        for (const p of s.ports ?? []) expect({ name, port: p.split(':').at(-1) }).not.toEqual({ name, port: '7233' });
    });

    it('publishes every port on 127.0.0.1 only', () => {
      const published = Object.entries(compose.services).flatMap(([name, s]) =>
        (s.ports ?? []).map((p) => ({ name, p })),
      );
      expect(published.length).toBeGreaterThan(0);
      for (const { name, p } of published) expect({ name, on: publishedOn(p) }).toEqual({ name, on: '127.0.0.1' });
    });

    it('runs the Web UI with write actions disabled', () => {
      // The temporalio/ui server's own variable (server/docker/config-template.yaml: disableWriteActions).
      expect(compose.services['temporal-ui']!.environment?.TEMPORAL_DISABLE_WRITE_ACTIONS).toBe('true');
    });

    it('gives every worker replica one shared ledger and one signing key', () => {
      expect(workers).toHaveLength(1);
      const worker = workers[0]!;
      expect(worker.deploy?.replicas).toBeGreaterThan(1);
      const config = loadConfig(worker.environment ?? {});
      // Not the per-container SQLite file: a PostgreSQL ledger on a compose service.
      expect(config.audit.databaseUrl).toMatch(/^postgres:\/\/[^@]+@([a-z0-9-]+):\d+\//);
      const ledgerHost = /@([a-z0-9-]+):/.exec(config.audit.databaseUrl!)![1]!;
      expect(Object.keys(compose.services)).toContain(ledgerHost);
      expect(compose.services[ledgerHost]!.ports ?? []).toEqual([]);
      // The signing key is a compose secret, the same file for every replica, outside any data directory.
      expect(config.audit.signingKeyFile).toBe('/run/secrets/audit-signing-key');
      expect(worker.secrets).toContain('audit-signing-key');
      expect(compose.secrets?.['audit-signing-key']?.file).toBe('./secrets/audit-signing.key');
    });

    it('keeps the signing key out of git and out of the image', () => {
      expect(fs.readFileSync(path.join(root, '.gitignore'), 'utf8')).toMatch(/^\/?secrets\/?$/m);
      expect(fs.readFileSync(path.join(root, '.dockerignore'), 'utf8')).toMatch(/^secrets\/?$/m);
    });

    it('keeps the HTTP API tokens on a volume, and lets in-network callers name the service', () => {
      const http = wardenServices.find(([, s]) => s.command?.[0] === 'serve')![1];
      expect(http.volumes).toContain('warden-http-data:/app/.warden');
      expect(loadConfig(http.environment ?? {}).api.allowedHosts).toContain('warden-http');
    });
  });

  it('the Dockerfile builds with the pinned lockfile and runs the warden binary', () => {
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "bin\/warden.js"\]/);
    // A named volume copies the ownership of the directory it is mounted on: node must own it.
    expect(dockerfile).toMatch(/chown node:node \/app\/\.warden[\s\S]*USER node/);
  });
});
