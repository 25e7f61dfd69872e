/**
 * The training worker loop (`charades worker --train`, and `charades train --wait` in embedded mode): claims
 * training jobs one at a time, shows progress, and announces each published version. In embedded mode the
 * bots notice the new `models/LIVE` through `watchLive`; with REDIS_URL the worker also publishes the swap on
 * Redis for bots and generation workers on other machines (`subscribeSwap`).
 */
import { publishSwap } from '../../motion/registry.js';
import { describeProgress, createTerminalProgress } from './progress.js';
import type { TerminalProgress } from './progress.js';
import { TrainingRunner, isFinal } from './runner.js';
import type { TrainingRunnerOptions } from './runner.js';
import { TrainingJobStore } from './store.js';
import type { TrainingJob } from './store.js';

export interface TrainingWorkerOptions extends TrainingRunnerOptions {
  /** How often an idle worker looks for a queued job (default 2000 ms). */
  pollMs?: number;
  /** Announce published versions on this Redis (BullMQ mode). */
  redisUrl?: string;
  swapChannel?: string;
  /** Progress on stderr: a bar on a TTY, a plain line per stage change or 5 s elsewhere (default true). */
  progressBar?: boolean;
  /** Stop once this job has finished (charades train --wait). */
  untilJob?: number;
  /** One line per job event (default: stderr). */
  log?: (line: string) => void;
  /** SIGINT/SIGTERM stop the worker, leaving a running job to be resumed by the next worker. */
  installSignalHandlers?: boolean;
}

export interface TrainingWorkerHandle {
  runner: TrainingRunner;
  /** Resolves when the loop ends (closed, or `untilJob` finished). */
  done: Promise<void>;
  close(): Promise<void>;
}

interface RedisClient {
  publish(channel: string, message: string): Promise<number>;
  quit(): Promise<unknown>;
}

async function connectRedis(url: string): Promise<RedisClient> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  client.on('error', () => undefined); // surfaced by the publish that fails
  await client.connect();
  return client;
}

export async function runTrainingWorker(options: TrainingWorkerOptions): Promise<TrainingWorkerHandle> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const redis = options.redisUrl ? await connectRedis(options.redisUrl) : undefined;
  let bar: TerminalProgress | undefined;
  const showBar = options.progressBar ?? true;
  const runner = new TrainingRunner({
    ...options,
    onProgress: (job, p) => {
      if (showBar) (bar ??= createTerminalProgress(process.stderr)).update(p);
      options.onProgress?.(job, p);
    },
    onEvent: (job, event, detail) => {
      if (bar && ['published', 'rejected', 'failed', 'cancelled', 'trainer-exit'].includes(event)) {
        bar.stop();
        bar = undefined;
      }
      log(`train: job ${job.id} ${event}: ${detail}`);
      options.onEvent?.(job, event, detail);
    },
    onPublished: async (version, job) => {
      if (redis) await publishSwap(redis, version, { registry: options.modelsDir, channel: options.swapChannel });
      await options.onPublished?.(version, job);
    },
  });
  let closed = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });
  const untilDone = (): boolean => options.untilJob !== undefined && isFinal(runner.store.get(options.untilJob));
  const loop = async () => {
    while (!closed && !untilDone()) {
      const job: TrainingJob | null = await runner.runNext();
      if (!job && !closed && !untilDone()) await sleep(options.pollMs ?? 2000);
    }
  };
  log(`train: worker ready (jobs in ${runner.store.file}, models in ${options.modelsDir})`);
  const done = loop();
  const close = async () => {
    if (closed) return;
    closed = true;
    wake?.();
    await runner.close();
    await done.catch(() => undefined);
    await redis?.quit().catch(() => undefined);
  };
  if (options.installSignalHandlers) {
    const stop = (sig: string) => {
      log(`train: ${sig}: stopping; a running job will resume from its checkpoint on the next start`);
      void close().then(() => process.exit(0));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  }
  return { runner, done: done.then(() => undefined), close };
}

/** A line for chat or the terminal about where a job stands. */
export function describeJob(job: TrainingJob): string {
  const head = `job ${job.id} ${job.state} (config ${job.spec.config}${job.spec.data.length ? `, data ${job.spec.data.join(', ')}` : ''})`;
  if (job.state === 'running' || job.state === 'cancelling')
    return job.progress ? `${head}: ${describeProgress(job.progress)}` : head;
  if (job.state === 'published') return `${head}: ${String(job.result?.version ?? job.version)} is live`;
  if (job.error) return `${head}: ${job.error}`;
  return head;
}

const CHAT_LIMIT = 1900;

/** A chat message about a job (Discord /train): where it stands, and at the end what came of it and why. */
export function describeTrainingJob(job: TrainingJob): string {
  const what = `Training job ${job.id} (config ${job.spec.config}${job.spec.data.length ? `, data ${job.spec.data.join(', ')}` : ''})`;
  const gate = (job.result?.gate as { summary?: string } | undefined)?.summary;
  let text: string;
  switch (job.state) {
    case 'queued':
      text = `🏋️ ${what} is queued; a training worker (\`charades worker --train\`) runs it.`;
      break;
    case 'running':
      text = `🏋️ ${what}: ${job.progress ? describeProgress(job.progress) : 'starting'}`;
      break;
    case 'cancelling':
      text = `🛑 ${what} is stopping.`;
      break;
    case 'published':
      text = `✅ ${what} published **${String(job.result?.version ?? job.version)}**; it is live now. ${gate ?? ''}`;
      break;
    case 'rejected':
      text = `❌ ${what} was not published: ${job.error ?? gate ?? 'the gate refused it'}. The model is kept in ${String(job.result?.artefacts ?? 'its job folder')}.`;
      break;
    case 'cancelled':
      text = `🛑 ${what} was cancelled.`;
      break;
    default:
      text = `⚠️ ${what} failed: ${job.error ?? 'no reason recorded'}`;
  }
  return text.length > CHAT_LIMIT ? `${text.slice(0, CHAT_LIMIT - 1)}…` : text.trim();
}

export interface JobWatch {
  close(): void;
}

/**
 * Calls `onChange` with the job whenever its row changes (progress, state), reading the job table every
 * `pollMs` from any process; stops by itself once the job is final. The timer never keeps a process alive.
 */
export function watchTrainingJob(
  dbFile: string,
  id: number,
  onChange: (job: TrainingJob) => void,
  opts: { pollMs?: number } = {},
): JobWatch {
  const store = new TrainingJobStore(dbFile);
  let last = '';
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    store.close();
  };
  const poll = () => {
    if (closed) return;
    const job = store.get(id);
    if (!job) return close();
    const text = JSON.stringify(job);
    if (text !== last) {
      last = text;
      onChange(job);
    }
    if (isFinal(job)) close();
  };
  const timer = setInterval(poll, opts.pollMs ?? 1500);
  timer.unref();
  setImmediate(poll);
  return { close };
}
