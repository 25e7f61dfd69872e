/**
 * Builds what every bot surface needs from a Config: logger, store, stages, queue (in-process, or a
 * BullMQ client when REDIS_URL is set), metrics and the chat service, plus one close() that shuts them
 * down in the right order (stop taking work → finish in-flight jobs → close renderer and store).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from '../ops/index.js';
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
 * In-process jobs die with the process that ran them: requests a previous in-process run left queued or
 * running will never finish. Marking them failed keeps them from counting against per-user limits, and
 * adapters that can still reach the requester (Discord) tell them so.
 */
export function failInterruptedRequests(store: Store): number {
  const stale = store.unfinishedRequests();
  for (const r of stale)
    store.setRequestStatus(r.id, 'failed', 'interrupted: the bot restarted before this request finished');
  return stale.length;
}

/**
 * BullMQ jobs outlive the bot that enqueued them. Requests without a reply target (CLI, scripts) are
 * followed here so their results are persisted when their jobs finish — or marked failed only when the
 * job really failed or is gone; requests with one are resumed by the adapter that can answer them.
 */
function followOrphanedRequests(service: ChatService, logger: Logger): number {
  const orphans = service.store.unfinishedRequests().filter((r) => r.replyTo === undefined);
  for (const r of orphans) {
    service
      .resume(r.id, () => undefined)
      .done.then(
        () => logger.info({ jobId: r.id }, "an earlier run's job finished; its result is stored"),
        (err: Error) => logger.info({ jobId: r.id, err: err.message }, "an earlier run's job did not finish here"),
      );
  }
  return orphans.length;
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
    queue = new BullJobQueue({
      redisUrl: config.redisUrl,
      queueName: config.queueName,
      attempts: config.attempts,
      dataDir: config.dataDir,
      metrics,
    });
    stageNotes = [
      `jobs: BullMQ queue "${config.queueName}" on ${config.redisUrl} (run \`charades worker\` to process them)`,
    ];
  } else {
    if (options.stages) stages = options.stages;
    else ({ stages, notes: stageNotes } = await createStages(config));
    queue = new InProcessQueue(
      { stages, dataDir: config.dataDir, render: config.render },
      { concurrency: config.concurrency, attempts: config.attempts, metrics },
    );
  }
  for (const note of stageNotes) logger.info(note);
  const service = new ChatService(store, queue);
  if (queue.kind === 'in-process') {
    const interrupted = failInterruptedRequests(store);
    if (interrupted > 0)
      logger.warn({ interrupted }, 'requests left unfinished by the previous run were marked failed');
  } else {
    const followed = followOrphanedRequests(service, logger);
    if (followed > 0) logger.info({ followed }, 'following jobs an earlier run left queued or running');
  }
  let closed = false;
  return {
    config,
    logger,
    store,
    queue,
    metrics,
    service,
    stages,
    stageNotes,
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
