/**
 * Builds what every bot surface needs from a Config: logger, store, stages, queue (in-process, or a
 * BullMQ client when REDIS_URL is set), metrics and the chat service, plus one close() that shuts them
 * down in the right order (stop taking work → finish in-flight jobs → close renderer and store).
 */
import { join } from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { BullJobQueue, InProcessQueue, createJobMetrics, createStages } from '../jobs/index.js';
import type { JobMetrics, JobQueue, Stages } from '../jobs/index.js';

import { ChatService } from './service.js';
import { Store } from './store.js';

export interface Runtime {
  config: Config;
  logger: Logger;
  store: Store;
  queue: JobQueue;
  metrics: JobMetrics;
  service: ChatService;
  /** Stages of the in-process queue; absent when jobs run in BullMQ workers. */
  stages?: Stages;
  stageNotes: string[];
  close(): Promise<void>;
}

/**
 * Requests a previous process left queued or running can no longer be answered (their listeners and
 * interaction tokens died with it); marking them failed keeps them from counting against per-user limits.
 */
export function failInterruptedRequests(store: Store): number {
  const stale = store.unfinishedRequests();
  for (const r of stale) store.setRequestStatus(r.id, 'failed', 'interrupted: the bot restarted before this request finished');
  return stale.length;
}

export function createLogger(config: Config, name: string): Logger {
  return pino({ name, level: config.logLevel }, pino.destination(2));
}

export interface RuntimeOptions {
  /** Stages to use instead of choosing them from the config (tests, benches). */
  stages?: Stages;
  logger?: Logger;
  name?: string;
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config, options.name ?? 'charades');
  const store = new Store(join(config.dataDir, 'charades.sqlite'));
  const metrics = createJobMetrics({ defaults: true });
  let stages: Stages | undefined;
  let stageNotes: string[] = [];
  let queue: JobQueue;
  if (config.redisUrl) {
    queue = new BullJobQueue({ redisUrl: config.redisUrl, queueName: config.queueName, attempts: config.attempts, metrics });
    stageNotes = [`jobs: BullMQ queue "${config.queueName}" on ${config.redisUrl} (run \`charades worker\` to process them)`];
  } else {
    if (options.stages) stages = options.stages;
    else ({ stages, notes: stageNotes } = await createStages(config));
    queue = new InProcessQueue({ stages, dataDir: config.dataDir, render: config.render }, { concurrency: config.concurrency, attempts: config.attempts, metrics });
  }
  for (const note of stageNotes) logger.info(note);
  const interrupted = failInterruptedRequests(store);
  if (interrupted > 0) logger.warn({ interrupted }, 'requests left unfinished by the previous run were marked failed');
  const service = new ChatService(store, queue);
  let closed = false;
  return {
    config, logger, store, queue, metrics, service, stages, stageNotes,
    async close() {
      if (closed) return;
      closed = true;
      await queue.close();
      await stages?.renderer.close();
      await stages?.planner.close?.();
      await stages?.generator.close?.();
      store.close();
    },
  };
}
