import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service } from 'kubernetes-models/v1';
import { allSettings, loadConfig } from '../src/config';
import { WardenMetrics } from '../src/telemetry/metrics';

/*
 * deploy/: the Kubernetes manifests validate against the Kubernetes schemas and configure Warden only
 * with settings it knows; the alert rules, the Grafana dashboard and the HPA name only metrics Warden (or
 * the Temporal SDK) exports.
 */

const root = path.join(__dirname, '..');
const read = (p: string) => fs.readFileSync(path.join(root, 'deploy', p), 'utf8');

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Deployment: Deployment,
  HorizontalPodAutoscaler: HorizontalPodAutoscaler,
  PodDisruptionBudget: PodDisruptionBudget,
  Service: Service,
};

interface K8sDoc {
  kind: string;
  metadata: { name: string };
  spec: {
    template?: {
      spec: {
        containers: { env?: { name: string; value?: string }[]; readinessProbe?: unknown; livenessProbe?: unknown }[];
        terminationGracePeriodSeconds?: number;
      };
    };
    metrics?: { external?: { metric: { name: string } } }[];
  };
}

/** Metric names Warden exports, with the series a histogram adds. */
function exportedMetricNames(): Set<string> {
  const m = new WardenMetrics();
  const names = new Set<string>();
  for (const metric of m.registry.getMetricsAsArray()) {
    const name = (metric as unknown as { name: string }).name;
    names.add(name);
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** Metric names a PromQL expression reads (identifiers followed by `{`, `[`, `)` or whitespace, not functions). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:warden|temporal)_[a-z_]+)\b/g)].map((x) => x[1]!);
}

describe('deploy/', () => {
  const docs = YAML.parseAllDocuments(read('kubernetes/warden.yaml')).map((d) => d.toJS() as K8sDoc);
  const exported = exportedMetricNames();

  it('has Kubernetes manifests that validate against the Kubernetes schemas', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(
      [
        'Deployment',
        'Deployment',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'PodDisruptionBudget',
        'Service',
      ].sort(),
    );
    for (const doc of docs) {
      const Model = MODELS[doc.kind]!;
      expect(() => new Model(doc as never).validate()).not.toThrow();
    }
    // The validator is not a rubber stamp: a broken manifest fails it.
    const broken = structuredClone(docs.find((d) => d.kind === 'Deployment')!) as unknown as {
      spec: { replicas: unknown };
    };
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/);
  });

  // The process runtime's own variables (Node, glibc's malloc): the bounded-memory profile, docs/operations.md.
  const RUNTIME_ENV = new Set(['NODE_OPTIONS', 'MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_MMAP_THRESHOLD_']);

  it('configures Warden containers only with settings it knows, with probes and a drain longer than the grace period', () => {
    const known = new Set(allSettings().map((s) => s.name));
    for (const doc of docs.filter((d) => d.kind === 'Deployment')) {
      const [container] = doc.spec.template!.spec.containers;
      const env = Object.fromEntries(
        (container!.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
      );
      const unknown = (container!.env ?? [])
        .map((e) => e.name)
        .filter((n) => !known.has(n) && !n.startsWith('TEMPORAL_') && !RUNTIME_ENV.has(n));
      expect({ name: doc.metadata.name, unknown }).toEqual({ name: doc.metadata.name, unknown: [] });
      expect(() => loadConfig(env)).not.toThrow();
      expect(container!.readinessProbe).toMatchObject({ httpGet: { path: '/readyz' } });
      expect(container!.livenessProbe).toMatchObject({ httpGet: { path: '/healthz' } });
      const graceMs = Number(env.WARDEN_SHUTDOWN_GRACE_MS ?? 0);
      expect(doc.spec.template!.spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(graceMs);
    }
  });

  it('scales workers on a backlog metric Warden exports', () => {
    const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler')!;
    const names = hpa.spec.metrics!.map((m) => m.external!.metric.name);
    expect(names).toEqual(['warden_task_queue_backlog']);
    for (const n of names) expect(exported).toContain(n);
  });

  it('ships alert rules for approvals past SLA, open breakers, audit lag and the kill switch, on exported metrics', () => {
    const rules = (
      YAML.parse(read('prometheus/warden-alerts.yaml')) as {
        groups: {
          rules: { alert: string; expr: string; labels: { severity: string }; annotations: { summary: string } }[];
        }[];
      }
    ).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'WardenApprovalWaitingPastSLA',
        'WardenCircuitBreakerOpen',
        'WardenAuditLagHigh',
        'WardenKillSwitchOn',
      ]),
    );
    for (const r of rules) {
      expect(r.labels.severity).toMatch(/^(warning|critical)$/);
      expect(r.annotations.summary.length).toBeGreaterThan(0);
      const used = metricsIn(r.expr);
      expect(used.length).toBeGreaterThan(0);
      for (const m of used)
        expect({ alert: r.alert, metric: m, exported: exported.has(m) }).toMatchObject({ exported: true });
    }
    const prom = YAML.parse(read('prometheus/prometheus.yaml')) as { rule_files: string[] };
    expect(prom.rule_files.map((f) => path.basename(f))).toContain('warden-alerts.yaml');
  });

  it('ships a Grafana dashboard whose every panel queries exported metrics', () => {
    const dash = JSON.parse(read('grafana/warden-dashboard.json')) as {
      uid: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dash.panels.length).toBeGreaterThanOrEqual(10);
    for (const p of dash.panels) {
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets)
        for (const m of metricsIn(t.expr)) {
          if (m.startsWith('temporal_')) continue; // the SDK's own, appended at /metrics
          expect({ panel: p.title, metric: m, exported: exported.has(m) }).toMatchObject({ exported: true });
        }
    }
  });
});
