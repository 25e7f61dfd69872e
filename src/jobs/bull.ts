/**
 * Scale-out on Redis with BullMQ. The bot side (`BullJobQueue`) only enqueues and follows jobs; `charades
 * worker` processes (`startBullWorker`) run the pipeline. A worker that dies holds a lock that expires
 * after `lockMs`; another worker's stalled-job check then takes the job over, so a job is processed at
 * least once and the bot (which claims each delivery once) replies exactly once.
 *
 * Results are driven by the job's completion record, not by the process that enqueued it: the worker
 * keeps the result in Redis (returnvalue) and in the shared data directory (results/<id>.json), and any
 * bot can `attach` to a job by id — a restarted bot re-attaches to what it left queued or running.
 */
import { Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { JobMetrics } from './metrics.js';
import { recordTimings } from './metrics.js';
import { runJob } from './pipeline.js';
import type { JobQueue } from './queue.js';
import { JobDetachedError, JobLostError, QueueClosedError } from './queue.js';
import { loadJobResult, saveJobResult } from './results.js';
import type { JobInput, JobResult, Progress, Stages } from './types.js';
import { JobInputSchema, PermanentJobError } from './types.js';

interface Waiter {
  onProgress: (p: Progress) => void;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  /** Epoch ms the job entered the queue (for the job-latency metric). */
  enqueuedAt: number;
  /** Set while queue.add is still in flight: the job may not exist yet, which is not a loss. */
  adding?: boolean;
}

export interface BullQueueOptions {
  redisUrl: string;
  queueName: string;
  attempts: number;
  /** The data directory shared with the workers (where they leave videos, motions and results). */
  dataDir: string;
  metrics?: JobMetrics;
  /**
   * How often followed jobs are checked against Redis, so a completion whose event was missed (a
   * reconnect, a bot that attached late) is still noticed. Default 5 s.
   */
  sweepMs?: number;
}

function parseResult(value: unknown, jobId: string): JobResult {
  const result = (typeof value === 'string' ? JSON.parse(value) : value) as JobResult | null;
  if (!result || typeof result !== 'object' || result.jobId !== jobId)
    throw new Error(`job ${jobId} finished with an unreadable result`);
  return result;
}

const isProgress = (p: unknown): p is Progress =>
  typeof p === 'object' && p !== null && typeof (p as { stage?: unknown }).stage === 'string';

export class BullJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly ready: Promise<unknown>;
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly options: BullQueueOptions) {
    const connection = { url: options.redisUrl, maxRetriesPerRequest: null };
    this.queue = new Queue(options.queueName, { connection });
    this.events = new QueueEvents(options.queueName, { connection });
    this.events.on('progress', ({ jobId, data }) => {
      if (isProgress(data)) for (const w of this.waiters.get(jobId) ?? []) w.onProgress(data);
    });
    this.events.on('completed', ({ jobId, returnvalue }) => this.finish(jobId, () => parseResult(returnvalue, jobId)));
    this.events.on('failed', ({ jobId, failedReason }) => void this.onFailed(jobId, failedReason));
    this.events.on('error', () => undefined);
    this.queue.on('error', () => undefined);
    this.ready = Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
    this.sweeper = setInterval(() => void this.sweep().catch(() => undefined), options.sweepMs ?? 5000);
    this.sweeper.unref();
  }

  private follow(jobId: string, waiter: Waiter): void {
    this.waiters.set(jobId, [...(this.waiters.get(jobId) ?? []), waiter]);
  }

  /** Hands the outcome to every follower once; later duplicates (event + sweep) find no one left. */
  private settle(jobId: string, outcome: { result: JobResult } | { error: Error }): void {
    const waiters = this.waiters.get(jobId);
    if (!waiters) return;
    this.waiters.delete(jobId);
    const metrics = this.options.metrics;
    if ('error' in outcome) {
      if (!(outcome.error instanceof JobLostError)) metrics?.failures.inc({ reason: 'error' });
      for (const w of waiters) w.reject(outcome.error);
      return;
    }
    if (metrics) {
      recordTimings(metrics, outcome.result.timingsMs);
      metrics.jobSeconds.observe((Date.now() - waiters[0].enqueuedAt) / 1000);
    }
    for (const w of waiters) w.resolve(outcome.result);
  }

  private finish(jobId: string, read: () => JobResult): void {
    if (!this.waiters.has(jobId)) return;
    try {
      this.settle(jobId, { result: read() });
    } catch (err) {
      this.settle(jobId, { error: err as Error });
    }
  }

  /** A failed attempt that will be retried also emits 'failed'; only a job in the failed state is final. */
  private async onFailed(jobId: string, reason: string): Promise<void> {
    if (!this.waiters.has(jobId)) return;
    const state = await this.queue.getJobState(jobId).catch(() => 'unknown');
    if (state === 'failed') this.settle(jobId, { error: new Error(reason) });
  }

  /** Where a followed job stands in Redis; settles it when it is already over (or gone). */
  private async check(jobId: string): Promise<void> {
    const job = await this.queue.getJob(jobId);
    if (!job) {
      const stored = loadJobResult(this.options.dataDir, jobId);
      if (stored) this.settle(jobId, { result: stored });
      else
        this.settle(jobId, {
          error: new JobLostError(
            `job ${jobId} is no longer in the queue and left no result (it expired, or Redis was flushed); please ask again`,
          ),
        });
      return;
    }
    const state = await job.getState();
    if (state === 'completed')
      this.finish(jobId, () =>
        job.returnvalue
          ? parseResult(job.returnvalue, jobId)
          : (loadJobResult(this.options.dataDir, jobId) ?? parseResult(null, jobId)),
      );
    else if (state === 'failed') this.settle(jobId, { error: new Error(job.failedReason || `job ${jobId} failed`) });
    else if (state === 'active' && isProgress(job.progress))
      for (const w of this.waiters.get(jobId) ?? []) w.onProgress(job.progress as Progress);
  }

  private async sweep(): Promise<void> {
    if (this.closing) return;
    for (const [jobId, waiters] of [...this.waiters]) {
      if (waiters.every((w) => !w.adding)) await this.check(jobId);
    }
  }

  async submit(input: JobInput, onProgress: (p: Progress) => void): Promise<JobResult> {
    if (this.closing) throw new QueueClosedError('the queue is shutting down; try again in a moment');
    await this.ready;
    const waiter: Waiter = {
      onProgress,
      resolve: () => undefined,
      reject: () => undefined,
      enqueuedAt: Date.now(),
      adding: true,
    };
    const done = settledLater(waiter);
    this.follow(input.id, waiter);
    try {
      await this.queue.add('act', input, {
        jobId: input.id,
        attempts: this.options.attempts,
        backoff: { type: 'fixed', delay: 500 },
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 24 * 3600 },
      });
    } catch (err) {
      this.settle(input.id, { error: err as Error });
      return done;
    } finally {
      waiter.adding = false;
    }
    const waiting = await this.queue.getWaitingCount();
    onProgress({ stage: 'queued', position: Math.max(1, waiting) });
    this.options.metrics?.queueDepth.set(await this.depth());
    return done;
  }

  async attach(jobId: string, onProgress: (p: Progress) => void): Promise<JobResult> {
    if (this.closing) throw new JobDetachedError('the queue is shutting down; the job stays queued for the next bot');
    await this.ready;
    const job = await this.queue.getJob(jobId);
    const waiter: Waiter = {
      onProgress,
      resolve: () => undefined,
      reject: () => undefined,
      enqueuedAt: job?.timestamp ?? Date.now(),
    };
    const done = settledLater(waiter);
    // Following first, checking second: a completion between the two is caught by the event or the check.
    this.follow(jobId, waiter);
    try {
      const state = job ? await job.getState() : 'unknown';
      if (state === 'waiting' || state === 'prioritized' || state === 'delayed')
        onProgress({ stage: 'queued', position: Math.max(1, await this.queue.getWaitingCount()) });
      await this.check(jobId);
    } catch {
      // A Redis hiccup: the job stays followed and the next sweep looks again.
    }
    return done;
  }

  async depth(): Promise<number> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  /** Stops following; the jobs stay in Redis for the workers, and the next bot to start delivers them. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    const detached = new JobDetachedError(
      'the bot stopped following this job; it stays queued and the next bot to start delivers it',
    );
    for (const [, waiters] of this.waiters) for (const w of waiters) w.reject(detached);
    this.waiters.clear();
    await this.events.close();
    await this.queue.close();
  }
}

/**
 * The promise a waiter settles. Callers receive it only after a few more awaits (adding, state checks); a job that
 * fails or a queue that closes in between must not surface as an unhandled rejection, so it is marked handled here —
 * whoever awaits it still gets the rejection.
 */
function settledLater(waiter: Waiter): Promise<JobResult> {
  const done = new Promise<JobResult>((resolve, reject) => Object.assign(waiter, { resolve, reject }));
  done.catch(() => undefined);
  return done;
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
    if (!parsed.success)
      throw new UnrecoverableError(
        `job ${job.id} has invalid data: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    options.onEvent?.('active', String(job.id));
    try {
      const result = await runJob(parsed.data, {
        stages: options.stages,
        dataDir: options.dataDir,
        render: options.render,
        onProgress: (p) =>
          void job.updateProgress(
            job.attemptsMade > 0 && p.stage !== 'queued' ? { ...p, attempt: job.attemptsMade + 1 } : p,
          ),
      });
      saveJobResult(options.dataDir, result);
      return result;
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
