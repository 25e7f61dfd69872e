/**
 * `charades worker`: a generation/render worker that consumes the BullMQ queue at REDIS_URL. Any
 * number may run; the bot only enqueues. SIGTERM finishes running jobs before exiting.
 */
import type { Config } from '../config/index.js';
import { createStages, startBullWorker } from '../jobs/index.js';
import type { Stages } from '../jobs/index.js';
import { createLogger, onShutdown, startOpsServer } from '../ops/index.js';
import { createJobMetrics } from '../jobs/index.js';

export interface WorkerRun {
  close(): Promise<void>;
}

export async function runWorker(
  config: Config,
  options: { stages?: Stages; installSignalHandlers?: boolean } = {},
): Promise<WorkerRun> {
  if (!config.redisUrl)
    throw new Error(
      'charades worker needs REDIS_URL (e.g. redis://127.0.0.1:6379): workers consume the shared BullMQ queue',
    );
  const logger = createLogger(config, 'charades-worker');
  const choice = options.stages ? { stages: options.stages, notes: ['stages: injected'] } : await createStages(config);
  for (const note of choice.notes) logger.info(note);
  const metrics = createJobMetrics({ defaults: true });
  let running = 0;
  const handle = await startBullWorker({
    redisUrl: config.redisUrl,
    queueName: config.queueName,
    concurrency: config.concurrency,
    stages: choice.stages,
    dataDir: config.dataDir,
    render: config.render,
    lockMs: config.jobLockMs,
    onEvent: (event, jobId, detail) => {
      if (event === 'active') running++;
      else running--;
      metrics.queueDepth.set(running);
      if (event === 'failed') metrics.failures.inc({ reason: 'error' });
      logger.info({ event, jobId, detail, pid: process.pid }, `job ${event}`);
    },
  });
  const ops =
    config.metricsPort === undefined
      ? undefined
      : await startOpsServer(config.metricsPort, metrics.registry, async () => ({
          ok: !handle.worker.closing,
          running,
          pid: process.pid,
        }));
  logger.info(
    { queue: config.queueName, concurrency: config.concurrency, pid: process.pid, metricsPort: ops?.port },
    'worker ready',
  );
  const close = async () => {
    await handle.close();
    await choice.stages.renderer.close();
    await choice.stages.planner.close?.();
    await choice.stages.generator.close?.();
    await ops?.close();
  };
  if (options.installSignalHandlers) onShutdown([close], (m) => logger.info(m));
  return { close };
}
