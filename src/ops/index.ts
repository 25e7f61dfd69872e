/**
 * What every long-running process shares (the bot, generation workers, the training worker): the logger,
 * operations endpoints GET /metrics (Prometheus text) and GET /healthz (JSON, 200 when healthy, 503 otherwise),
 * and graceful shutdown on SIGINT/SIGTERM that runs each closer once, in order.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/index.js';

/** JSON lines on stderr at the configured level (stdout stays free for command output). */
export function createLogger(config: Pick<Config, 'logLevel'>, name: string): Logger {
  return pino({ name, level: config.logLevel }, pino.destination(2));
}

export interface Health {
  ok: boolean;
  [key: string]: unknown;
}

export interface OpsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(
  port: number,
  registry: Registry,
  health: () => Promise<Health>,
): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'only GET\n');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(200, registry.contentType, text),
        (err: Error) => send(500, 'text/plain', `${err.message}\n`),
      );
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

interface ProcessLog {
  error(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

/** How long a crashing process may spend closing down before it exits anyway. */
export const CRASH_SHUTDOWN_MS = 10_000;

/**
 * Keeps a long-running process honest about errors nobody caught. A rejection nobody awaited is logged and
 * the process stays up (event handlers, discord.js included, end up there). An uncaught exception means
 * unknown state: it is logged, `shutdown` runs (bounded by CRASH_SHUTDOWN_MS) and the process exits with 1;
 * exit hooks (the renderer's) then kill child processes and remove temp folders.
 *
 * The process owns this policy alone: TF.js's WASM glue (the USE text encoder) installs listeners that
 * rethrow every unhandled rejection and uncaught exception, which turns any stray rejection into a crash
 * and a crash into exit code 7 before the shutdown runs. Such listeners are removed as they appear.
 */
export function guardProcess(log: ProcessLog, shutdown: () => Promise<unknown>): void {
  let crashing = false;
  const onRejection = (reason: unknown) => {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    log.error({ err: err.message, stack: err.stack }, 'an error nobody handled (the process keeps running)');
  };
  const onException = (err: Error) => {
    log.fatal({ err: err.message, stack: err.stack }, 'uncaught exception: shutting down');
    if (crashing) process.exit(1);
    crashing = true;
    const deadline = setTimeout(() => process.exit(1), CRASH_SHUTDOWN_MS);
    deadline.unref();
    void shutdown()
      .catch(() => undefined)
      .finally(() => process.exit(1));
  };
  const ours = new Set<unknown>([onRejection, onException]);
  const dropForeignListeners = () => {
    for (const listener of process.listeners('unhandledRejection'))
      if (!ours.has(listener)) process.removeListener('unhandledRejection', listener);
    for (const listener of process.listeners('uncaughtException'))
      if (!ours.has(listener)) process.removeListener('uncaughtException', listener);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  dropForeignListeners();
  process.on('newListener', (event: string | symbol) => {
    // Removed right after it is added (a listener cannot be refused while it is being added).
    if (event === 'unhandledRejection' || event === 'uncaughtException') queueMicrotask(dropForeignListeners);
  });
}
