import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SETTINGS, allSettings, loadConfig, parseHostPort } from '../src/config';
import { ConfigError } from '../src/errors';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies documented defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c.temporal.address).toBeUndefined();
    expect(c.temporal.namespace).toBe('default');
    expect(c.taskQueue).toBe('warden');
    expect(c.http.port).toBe(8787);
    expect(c.devServer).toEqual({ port: 7233, uiPort: 8233 });
    expect(c.dataDir).toBe(path.resolve('.warden'));
    expect(c.temporal.tls).toBe(false);
  });

  it('rejects a malformed TEMPORAL_ADDRESS with a readable message', () => {
    const err = configError({ TEMPORAL_ADDRESS: '::nonsense' });
    expect(err.message).toContain('TEMPORAL_ADDRESS="::nonsense"');
    expect(err.message).toContain('host:port');
  });

  it('reads the HTTP server limits, and refuses a bad one naming the setting', () => {
    expect(loadConfig({}).http).toMatchObject({
      bodyLimitBytes: 1_048_576,
      bodyTimeoutMs: 15_000,
      idleTimeoutMs: 60_000,
      temporalTimeoutMs: 5_000,
    });
    expect(
      loadConfig({
        WARDEN_HTTP_BODY_LIMIT_BYTES: '4096',
        WARDEN_HTTP_BODY_TIMEOUT_MS: '2000',
        WARDEN_HTTP_IDLE_TIMEOUT_MS: '30000',
        WARDEN_HTTP_TEMPORAL_TIMEOUT_MS: '1500',
      }).http,
    ).toMatchObject({ bodyLimitBytes: 4096, bodyTimeoutMs: 2000, idleTimeoutMs: 30_000, temporalTimeoutMs: 1500 });
    const err = configError({
      WARDEN_HTTP_BODY_LIMIT_BYTES: '1MB',
      WARDEN_HTTP_BODY_TIMEOUT_MS: '10',
      WARDEN_HTTP_IDLE_TIMEOUT_MS: '-1',
      WARDEN_HTTP_TEMPORAL_TIMEOUT_MS: '600000',
    });
    expect(err.problems).toHaveLength(4);
    expect(err.problems[0]).toMatch(/^WARDEN_HTTP_BODY_LIMIT_BYTES="1MB": /);
    expect(err.problems.join('\n')).toMatch(/WARDEN_HTTP_BODY_TIMEOUT_MS="10": .*1000/);
    expect(err.problems.join('\n')).toMatch(/WARDEN_HTTP_IDLE_TIMEOUT_MS="-1"/);
    expect(err.problems.join('\n')).toMatch(/WARDEN_HTTP_TEMPORAL_TIMEOUT_MS="600000": .*60000/);
    for (const p of err.problems) expect(p).not.toContain('\n');
  });

  it('bounds the worker cache: WARDEN_WORKER_MAX_CACHED_WORKFLOWS is a positive count', () => {
    expect(loadConfig({}).maxCachedWorkflows).toBe(128);
    expect(loadConfig({ WARDEN_WORKER_MAX_CACHED_WORKFLOWS: '32' }).maxCachedWorkflows).toBe(32);
    expect(configError({ WARDEN_WORKER_MAX_CACHED_WORKFLOWS: '0' }).problems[0]).toMatch(
      /^WARDEN_WORKER_MAX_CACHED_WORKFLOWS="0": /,
    );
  });

  it('WARDEN_WORKER_WORKFLOW_THREADS is a thread count from 1 to 64', () => {
    expect(loadConfig({}).workflowThreads).toBe(1);
    expect(loadConfig({ WARDEN_WORKER_WORKFLOW_THREADS: '4' }).workflowThreads).toBe(4);
    for (const bad of ['0', '65', 'two'])
      expect(configError({ WARDEN_WORKER_WORKFLOW_THREADS: bad }).problems[0]).toMatch(
        new RegExp(`^WARDEN_WORKER_WORKFLOW_THREADS="${bad}": `),
      );
  });

  it('lists every problem at once', () => {
    const err = configError({ TEMPORAL_ADDRESS: 'nope', WARDEN_HTTP_PORT: 'abc', WARDEN_LOG_LEVEL: 'loud' });
    expect(err.problems).toHaveLength(3);
    expect(err.message).toMatch(/WARDEN_HTTP_PORT/);
    expect(err.message).toMatch(/WARDEN_LOG_LEVEL/);
  });

  it('never echoes the API key in an error', () => {
    const err = configError({ TEMPORAL_API_KEY: '', TEMPORAL_TLS: 'maybe', WARDEN_HTTP_PORT: '99999' });
    expect(err.message).not.toContain('maybe-secret');
    const err2 = configError({ TEMPORAL_API_KEY: 'sk-very-secret', TEMPORAL_ADDRESS: 'bad' });
    expect(err2.message).not.toContain('sk-very-secret');
  });

  it('turns TLS on for an API key (Temporal Cloud) and requires cert and key together', () => {
    expect(loadConfig({ TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' }).temporal.tls).toBe(true);
    expect(configError({ TEMPORAL_TLS_CERT_PATH: __filename }).message).toMatch(/must be set together/);
    expect(
      configError({ TEMPORAL_TLS_CERT_PATH: '/no/cert.pem', TEMPORAL_TLS_KEY_PATH: '/no/key.pem' }).problems,
    ).toHaveLength(2);
  });

  it('reads a YAML config file, and the environment wins over it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-cfg-'));
    const file = path.join(dir, 'warden.yaml');
    fs.writeFileSync(file, 'WARDEN_TASK_QUEUE: from-file\nWARDEN_HTTP_PORT: 9000\n');
    const c = loadConfig({ WARDEN_CONFIG_FILE: file, WARDEN_HTTP_PORT: '9100' });
    expect(c.taskQueue).toBe('from-file');
    expect(c.http.port).toBe(9100);
  });

  it('rejects unknown keys and unreadable files in the config file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-cfg-'));
    const file = path.join(dir, 'warden.json');
    fs.writeFileSync(file, JSON.stringify({ WARDEN_TASK_QUEUE: 'x', WARDEN_TYPO: 1 }));
    expect(configError({ WARDEN_CONFIG_FILE: file }).message).toMatch(/unknown setting WARDEN_TYPO/);
    expect(configError({ WARDEN_CONFIG_FILE: path.join(dir, 'missing.yaml') }).message).toMatch(/cannot read/);
    fs.writeFileSync(file, '{not json');
    expect(configError({ WARDEN_CONFIG_FILE: file }).message).toMatch(/not valid JSON/);
  });

  it('documents every setting, core and use cases, in docs/configuration.md', () => {
    const page = fs.readFileSync(path.join(__dirname, '..', 'docs', 'configuration.md'), 'utf8');
    const names = allSettings().map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(Object.keys(SETTINGS)));
    expect(names).toContain('WARDEN_TRIAGE_CONFIDENCE_THRESHOLD');
    expect(names.filter((name) => !page.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it('refuses a use case that is not installed, naming the installed ones', () => {
    expect(() => loadConfig({ WARDEN_USECASES: 'alert-triage,no-such-case' })).toThrow(
      /WARDEN_USECASES: no use case "no-such-case" is installed \(installed: .*alert-triage/,
    );
    expect(loadConfig({ WARDEN_USECASES: 'alert-triage' }).usecases.enabled).toEqual(['alert-triage']);
  });

  it.each([
    ['127.0.0.1:7233', true],
    ['temporal.example.com:7233', true],
    ['[::1]:7233', true],
    ['::nonsense', false],
    ['host', false],
    ['host:0', false],
    ['host:70000', false],
  ])('parseHostPort(%s) valid=%s', (value, ok) => {
    expect(parseHostPort(value) !== undefined).toBe(ok);
  });
});
