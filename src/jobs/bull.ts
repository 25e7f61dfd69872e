/**
 * Scale-out on Redis with BullMQ. The bot side (`BullJobQueue`) only enqueues and listens to queue
 * events; `charades worker` processes (`startBullWorker`) run the pipeline. A worker that dies holds a
 * lock that expires after `lockMs`; another worker's stalled-job check then takes the job over, so a
 * job is processed at least once and the bot (which claims each delivery once) replies exactly once.
 */
import { Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { JobMetrics } from './metrics.js';
import { recordTimings } from './metrics.js';
import { runJob } from './pipeline.js';
import type { JobQueue } from './queue.js';
import { QueueClosedError } from './queue.js';
import type { JobInput, JobResult, Progress, Stages } from './types.js';
import { JobInputSchema, PermanentJobError } from './types.js';

interface Waiter {
  onProgress: (p: Progress) => void;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  enqueuedAt: number;
}

export interface BullQueueOptions {
  redisUrl: string;
  queueName: string;
  attempts: number;
  metrics?: JobMetrics;
}

function parseResult(value: unknown, jobId: string): JobResult {
  const result = (typeof value === 'string' ? JSON.parse(value) : value) as JobResult | null;
  if (!result || typeof result !== 'object' || result.jobId !== jobId) throw new Error(`job ${jobId} finished with an unreadable result`);
  return result;
}

export class BullJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly waiters = new Map<string, Waiter>();
  private readonly ready: Promise<unknown>;
  private closing = false;

  constructor(private readonly options: BullQueueOptions) {
    const connection = { url: options.redisUrl, maxRetriesPerRequest: null };
    this.queue = new Queue(options.queueName, { connection });
    this.events = new QueueEvents(options.queueName, { connection });
    this.events.on('progress', ({ jobId, data }) => this.waiters.get(jobId)?.onProgress(data as Progress));
    this.events.on('completed', ({ jobId, returnvalue }) => this.finish(jobId, () => parseResult(returnvalue, jobId)));
    this.events.on('failed', ({ jobId, failedReason }) => void this.onFailed(jobId, failedReason));
    this.events.on('error', () => undefined);
    this.queue.on('error', () => undefined);
    this.ready = Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  private finish(jobId: string, read: () => JobResult): void {
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    this.waiters.delete(jobId);
    try {
      const result = read();
      if (this.options.metrics) {
        recordTimings(this.options.metrics, result.timingsMs);
        this.options.metrics.jobSeconds.observe((performance.now() - waiter.enqueuedAt) / 1000);
      }
      waiter.resolve(result);
    } catch (err) {
      waiter.reject(err as Error);
    }
  }

  /** A failed attempt that will be retried also emits 'failed'; only a job in the failed state is final. */
  private async onFailed(jobId: string, reason: string): Promise<void> {
    const state = await this.queue.getJobState(jobId).catch(() => 'unknown');
    if (state !== 'failed') return;
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    this.waiters.delete(jobId);
    this.options.metrics?.failures.inc({ reason: 'error' });
    waiter.reject(new Error(reason));
  }

  async submit(input: JobInput, onProgress: (p: Progress) => void): Promise<JobResult> {
    if (this.closing) throw new QueueClosedError('the queue is shutting down; try again in a moment');
    await this.ready;
    const done = new Promise<JobResult>((resolve, reject) => this.waiters.set(input.id, { onProgress, resolve, reject, enqueuedAt: performance.now() }));
    await this.queue.add('act', input, {
      jobId: input.id,
      attempts: this.options.attempts,
      backoff: { type: 'fixed', delay: 500 },
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 24 * 3600 },
    });
    const waiting = await this.queue.getWaitingCount();
    onProgress({ stage: 'queued', position: Math.max(1, waiting) });
    this.options.metrics?.queueDepth.set(await this.depth());
    return done;
  }

  async depth(): Promise<number> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  /** Stops listening; jobs already in Redis stay there for the workers (they are not lost). */
  async close(): Promise<void> {
    this.closing = true;
    for (const [, w] of this.waiters) w.reject(new QueueClosedError('the bot is shutting down; your request stays queued but its reply may not arrive'));
    this.waiters.clear();
    await this.events.close();
    await this.queue.close();
  }
}

export interface BullWorkerOptions {
  redisUrl: string;
  queueName: string;
  concurrency: number;
  stages: Stages;
  dataDir: string;
  render: { size: number; fps: number };
  /** How long a job stays locked to a silent worker before another may take it over. */
  lockMs: number;
  onEvent?: (event: 'active' | 'completed' | 'failed', jobId: string, detail?: string) => void;
}

export interface BullWorkerHandle {
  worker: Worker;
  /** Graceful: waits for running jobs to finish, takes no new ones. */
  close(): Promise<void>;
}

export async function startBullWorker(options: BullWorkerOptions): Promise<BullWorkerHandle> {
  const processor = async (job: Job): Promise<JobResult> => {
    const parsed = JobInputSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`job ${job.id} has invalid data: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    options.onEvent?.('active', String(job.id));
    try {
      return await runJob(parsed.data, {
        stages: options.stages,
        dataDir: options.dataDir,
        render: options.render,
        onProgress: (p) => void job.updateProgress(job.attemptsMade > 0 && p.stage !== 'queued' ? { ...p, attempt: job.attemptsMade + 1 } : p),
      });
    } catch (err) {
      if (err instanceof PermanentJobError) throw new UnrecoverableError(err.message);
      throw err;
    }
  };
  const worker = new Worker(options.queueName, processor, {
    connection: { url: options.redisUrl, maxRetriesPerRequest: null },
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: Math.max(500, Math.floor(options.lockMs / 2)),
    maxStalledCount: 3,
  });
  worker.on('completed', (job) => options.onEvent?.('completed', String(job.id)));
  worker.on('failed', (job, err) => options.onEvent?.('failed', String(job?.id), err.message));
  worker.on('error', () => undefined);
  await worker.waitUntilReady();
  return { worker, close: () => worker.close() };
}
