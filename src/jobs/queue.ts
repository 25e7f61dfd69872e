/**
 * The queue interface both back-ends implement, and the embedded default: an in-process queue with a
 * fixed number of concurrent jobs, queue positions, retries with backoff, and a graceful close that
 * lets running jobs finish and fails the waiting ones with a clear reason.
 */
import type { JobMetrics } from './metrics.js';
import { recordTimings } from './metrics.js';
import { runJob } from './pipeline.js';
import type { PipelineContext } from './pipeline.js';
import type { JobInput, JobResult, Progress } from './types.js';
import { PermanentJobError } from './types.js';

export interface JobQueue {
  readonly kind: 'in-process' | 'bullmq';
  /** Enqueues a job; resolves with its result (after retries) or rejects with the last error. */
  submit(input: JobInput, onProgress: (p: Progress) => void): Promise<JobResult>;
  /**
   * Follows a job an earlier process submitted (a bot that restarted): resolves with its result when it
   * completes (at once when it already has), rejects when it failed or no longer exists (JobLostError).
   */
  attach(jobId: string, onProgress: (p: Progress) => void): Promise<JobResult>;
  /** Jobs waiting or running. */
  depth(): Promise<number>;
  close(): Promise<void>;
}

export interface QueueOptions {
  concurrency: number;
  attempts: number;
  backoffMs?: number;
  metrics?: JobMetrics;
}

interface Pending {
  input: JobInput;
  onProgress: (p: Progress) => void;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  enqueuedAt: number;
}

/** The job was dropped unstarted because this queue is closing: it will never run. */
export class QueueClosedError extends Error {
  override readonly name = 'QueueClosedError';
}

/**
 * This process stopped following the job, but the job lives on (in Redis, for the workers): whoever
 * attaches to it next delivers its result, so nobody may report it as failed.
 */
export class JobDetachedError extends Error {
  override readonly name = 'JobDetachedError';
}

/** The job is gone (its process died, or Redis no longer knows it) and left no result: it will never finish. */
export class JobLostError extends Error {
  override readonly name = 'JobLostError';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class InProcessQueue implements JobQueue {
  readonly kind = 'in-process' as const;
  private readonly waiting: Pending[] = [];
  private running = 0;
  private closing = false;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly ctx: Omit<PipelineContext, 'onProgress'>,
    private readonly options: QueueOptions,
  ) {}

  submit(input: JobInput, onProgress: (p: Progress) => void): Promise<JobResult> {
    if (this.closing) return Promise.reject(new QueueClosedError('the queue is shutting down; try again in a moment'));
    return new Promise<JobResult>((resolve, reject) => {
      this.waiting.push({ input, onProgress, resolve, reject, enqueuedAt: performance.now() });
      this.updateDepth();
      onProgress({ stage: 'queued', position: this.waiting.length });
      this.pump();
    });
  }

  /** In-process jobs die with the process that ran them, so one from an earlier run is always lost. */
  attach(jobId: string): Promise<JobResult> {
    return Promise.reject(new JobLostError(`job ${jobId} ran inside a bot process that has stopped; please ask again`));
  }

  async depth(): Promise<number> {
    return this.waiting.length + this.running;
  }

  private updateDepth(): void {
    this.options.metrics?.queueDepth.set(this.waiting.length + this.running);
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift() as Pending;
      this.running++;
      this.waiting.forEach((p, i) => p.onProgress({ stage: 'queued', position: i + 1 }));
      void this.execute(job).finally(() => {
        this.running--;
        this.updateDepth();
        if (this.running === 0 && this.waiting.length === 0) this.idle.splice(0).forEach((f) => f());
        this.pump();
      });
    }
  }

  private async execute(job: Pending): Promise<void> {
    const metrics = this.options.metrics;
    let lastError: Error = new Error('the job never ran');
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      try {
        const result = await runJob(job.input, {
          ...this.ctx,
          onProgress: (p) => job.onProgress(attempt > 1 && p.stage !== 'queued' ? { ...p, attempt } : p),
        });
        if (metrics) {
          recordTimings(metrics, result.timingsMs);
          metrics.jobSeconds.observe((performance.now() - job.enqueuedAt) / 1000);
        }
        job.resolve(result);
        return;
      } catch (err) {
        lastError = err instanceof Error ? err : new Error(String(err));
        if (lastError instanceof PermanentJobError || attempt === this.options.attempts) break;
        metrics?.retries.inc();
        await sleep((this.options.backoffMs ?? 250) * attempt);
      }
    }
    metrics?.failures.inc({ reason: lastError instanceof PermanentJobError ? 'permanent' : 'error' });
    job.reject(lastError);
  }

  /** Stops taking jobs, fails the waiting ones, and waits for the running ones to finish. */
  async close(): Promise<void> {
    this.closing = true;
    for (const p of this.waiting.splice(0))
      p.reject(new QueueClosedError('the bot is shutting down; your request was not started, please ask again'));
    if (this.running > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}
