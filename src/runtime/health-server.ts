import http from 'node:http';
import { UserError } from '../errors';
import { wardenMetrics } from '../telemetry/metrics';
import type { ReadinessSnapshot } from './readiness';

/**
 * Serves GET /healthz (the process is alive), GET /readyz (200 when `readiness()` says ready, else 503,
 * with the per-check detail as JSON) for orchestrator probes, and GET /metrics (Prometheus). `extra` fields are added to both answers.
 * @throws UserError when the port is taken (say which setting moves it), so a start-up fails fast and clearly.
 */
export function startProbeServer(
  host: string,
  port: number,
  readiness: () => ReadinessSnapshot,
  extra: () => Record<string, unknown> = () => ({}),
  setting = 'WARDEN_HEALTH_PORT',
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, ...extra() }));
    } else if (path === '/readyz') {
      const snap = readiness();
      res
        .writeHead(snap.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ...snap, ...extra() }));
    } else if (path === '/metrics') {
      const metrics = wardenMetrics();
      metrics.render().then(
        (body) => res.writeHead(200, { 'content-type': metrics.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES'
          ? new UserError(
              `cannot listen on ${host}:${port} (${err.code === 'EADDRINUSE' ? 'port in use' : 'permission denied'}) — stop what uses it or set ${setting}`,
            )
          : err,
      ),
    );
    server.listen(port, host, () => resolve(server));
  });
}
