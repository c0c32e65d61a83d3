import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthProbe {
  /** Live: the process works (event loop turns). */
  live(): boolean;
  /** Ready: connected and consuming; a reason when not. */
  ready(): Promise<{ ready: boolean; detail: string }>;
}

/** /metrics (Prometheus text), /healthz (liveness) and /readyz (readiness). */
export function createHttpServer(registry: Registry, probe: HealthProbe): Server {
  return createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (error: unknown) => send(500, `metrics failed: ${(error as Error).message}\n`),
      );
      return;
    }
    if (path === '/healthz') return probe.live() ? send(200, 'ok\n') : send(503, 'not live\n');
    if (path === '/readyz') {
      probe.ready().then(
        ({ ready, detail }) => send(ready ? 200 : 503, `${detail}\n`),
        (error: unknown) => send(503, `${(error as Error).message}\n`),
      );
      return;
    }
    send(404, 'not found: try /metrics, /healthz, /readyz\n');
  });
}

export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}

export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
