/**
 * Operations endpoints: GET /metrics (Prometheus text) and GET /healthz (JSON, 200 when healthy,
 * 503 otherwise), plus graceful shutdown on SIGINT/SIGTERM that runs each closer once, in order.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Health {
  ok: boolean;
  [key: string]: unknown;
}

export interface OpsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(port: number, registry: Registry, health: () => Promise<Health>): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'only GET\n');
    if (path === '/metrics') {
      registry.metrics().then((text) => send(200, registry.contentType, text), (err: Error) => send(500, 'text/plain', `${err.message}\n`));
    } else if (path === '/healthz' || path === '/health') {
      health().then(
        (h) => send(h.ok ? 200 : 503, 'application/json', JSON.stringify(h)),
        (err: Error) => send(503, 'application/json', JSON.stringify({ ok: false, error: err.message })),
      );
    } else {
      send(404, 'text/plain', 'try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on port ${port} for metrics: ${err.message}`)));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Runs `closers` once on the first SIGINT/SIGTERM; a second signal exits at once. */
export function onShutdown(closers: (() => Promise<void>)[], log: (msg: string) => void): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: finishing in-flight jobs, then exiting (send again to exit now)`);
    void (async () => {
      for (const close of closers) await close().catch((err: Error) => log(`shutdown step failed: ${err.message}`));
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}
