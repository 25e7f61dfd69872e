/**
 * Runs training jobs one at a time: data → trainer child process (JSON-lines progress) → verify → evaluate →
 * gate → publish. The trainer runs in its own process group so cancelling kills it and everything it spawned;
 * it checkpoints as it goes, so a crash of the trainer (retried here) or of this worker (the job is taken over
 * by the next worker that claims it) continues from the last checkpoint with `--resume`.
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import type { WriteStream } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { activeConfig } from '../../config/active.js';
import type { ModelManifest } from '../../motion/contracts.js';
import { REPO_ROOT, defaultCacheDir } from '../../motion/paths.js';
import { defaultFeatureCacheDir } from '../../motion/featureCache.js';
import {
  DEFAULT_TEXT_ENCODER,
  liveVersionDir,
  publishVersion,
  readManifest,
  verifyVersion,
} from '../../motion/registry.js';
import type { TextEncoderSpec } from '../../motion/registry.js';
import { DEFAULT_GATE, decideGate, metricAt } from './gate.js';
import type { GateDecision } from './gate.js';
import { prepareEmbeddings, prepareFeatureCache } from './data.js';
import type { EmbedTextsFn } from './data.js';
import { manifestMetrics } from './evaluate.js';
import type { Candidate, EvaluateFn, EvaluateLiveFn, LiveModel } from './evaluate.js';
import { parseProgressLine } from './progress.js';
import { FINAL_STATES, TRAINING_DB_FILE, TrainingJobStore, ownerId } from './store.js';
import type { GateRule, TrainingJob, TrainingProgress } from './store.js';

export interface TrainerCommand {
  command: string;
  /** Arguments before the trainer's own (`-m trainer`); the runner appends `all --config … --resume`. */
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
}

/** What a trainer run folder holds that a job can start from (trainer/train.py, train_evaluator.py, evaluate.py). */
const RUN_CHECKPOINTS = new Set([
  'vq.pt',
  'tokens.pt',
  'gpt.pt',
  'evaluator.pt',
  'evaluator_metrics.json',
  'metrics.json',
]);

export const DEFAULT_TRAINER: TrainerCommand = { command: '/usr/bin/python3', args: ['-m', 'trainer'], cwd: REPO_ROOT };

/**
 * `CHARADES_TRAINER="python3.11 -m trainer"` swaps the trainer command line (another Python, a wrapper script); the
 * CLI passes the configured value (Config.trainer), a runner without one uses the configuration the CLI installed.
 */
export function trainerFromEnv(
  env: { CHARADES_TRAINER?: string } = { CHARADES_TRAINER: activeConfig()?.trainer },
): TrainerCommand {
  const words = (env.CHARADES_TRAINER ?? '').trim().split(/\s+/).filter(Boolean);
  return words.length === 0 ? DEFAULT_TRAINER : { command: words[0], args: words.slice(1), cwd: REPO_ROOT };
}

export type TrainingEvent =
  'started' | 'data' | 'trainer-exit' | 'resuming' | 'evaluated' | 'published' | 'rejected' | 'failed' | 'cancelled';

export interface TrainingRunnerOptions {
  /** Where the job database and per-job folders (logs, checkpoints, exported models) live. */
  dataDir: string;
  /** The model registry to publish into. */
  modelsDir: string;
  /** Default: CHARADES_TRAINER when set, else `/usr/bin/python3 -m trainer` in the repository root. */
  trainer?: TrainerCommand;
  /** Features cache for jobs without --data (default `.cache/features/charades-ric71-1`). */
  cacheDir?: string;
  /** Embedding table of the text encoder (default `.cache/embeddings/<encoder id>`). */
  embeddingsDir?: string;
  textEncoder?: TextEncoderSpec;
  /** Rules for jobs that bring none (default R-precision top-3 higher, FID lower). */
  gate?: readonly GateRule[];
  evaluate?: EvaluateFn;
  /** Measures the live model like `evaluate` measured the candidate (default: its manifest's metrics alone). */
  evaluateLive?: EvaluateLiveFn;
  /** Writes the embedding table for texts the shared table lacks (default: the configured sentence encoder). */
  embedTexts?: EmbedTextsFn;
  onProgress?: (job: TrainingJob, progress: TrainingProgress) => void;
  onEvent?: (job: TrainingJob, event: TrainingEvent, detail: string) => void;
  /** Called after a version went live (e.g. announce it on Redis); its failure is logged, not fatal. */
  onPublished?: (version: string, job: TrainingJob) => Promise<void> | void;
  /** Trainer runs per claim: a crashed trainer is restarted with --resume until this many ran (default 2). */
  maxTrainerRuns?: number;
  heartbeatMs?: number;
  /** A running job whose worker has not beaten for this long is taken over (default 60 s). */
  staleMs?: number;
  /** SIGTERM first, SIGKILL after this many ms (default 5000). */
  killGraceMs?: number;
  threads?: number;
  /** Owner id in the job table (default `host pid`). */
  owner?: string;
}

export function trainingDbPath(dataDir: string): string {
  return join(dataDir, TRAINING_DB_FILE);
}

export function jobDir(dataDir: string, id: number): string {
  return join(resolve(dataDir), 'training', String(id));
}

export function jobLogPath(dataDir: string, id: number): string {
  return join(jobDir(dataDir, id), 'trainer.log');
}

function versionName(job: TrainingJob, now = new Date()): string {
  const label =
    basename(job.spec.config)
      .replace(/\.json$/i, '')
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .slice(0, 40) || 'custom';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
  return `charades-${label}-job${job.id}-${stamp}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

function lastLines(text: string, n = 6): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

class JobCancelled extends Error {}
/** The worker is stopping: the job stays `running` and is resumed by the next claim. */
class WorkerStopping extends Error {}

interface TrainerInputs {
  cacheDir: string;
  embeddings: string;
}

interface TrainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  cancelled: boolean;
}

export class TrainingRunner {
  readonly store: TrainingJobStore;
  readonly owner: string;
  private readonly opts: Required<
    Pick<TrainingRunnerOptions, 'maxTrainerRuns' | 'heartbeatMs' | 'staleMs' | 'killGraceMs' | 'threads'>
  > &
    TrainingRunnerOptions;
  private current: { job: TrainingJob; kill: (why: string) => void } | null = null;
  /** The job being run, preparation and evaluation included (no trainer process to kill then). */
  private running: Promise<TrainingJob> | null = null;
  private stopping = false;

  constructor(options: TrainingRunnerOptions) {
    this.opts = { maxTrainerRuns: 2, heartbeatMs: 1000, staleMs: 60_000, killGraceMs: 5000, threads: 1, ...options };
    this.owner = options.owner ?? ownerId();
    this.store = new TrainingJobStore(trainingDbPath(options.dataDir));
  }

  /** Claims and runs the next queued job to its end; null when there is none (or another worker is busy). */
  async runNext(): Promise<TrainingJob | null> {
    if (this.stopping) return null;
    const job = this.store.claim(this.owner, { staleMs: this.opts.staleMs });
    if (!job) return null;
    this.running = this.run(job);
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  /** Cancels a job: queued ones at once; a running one here is killed now, elsewhere at its worker's next heartbeat. */
  cancel(id: number): TrainingJob {
    const job = this.store.requestCancel(id);
    if (this.current?.job.id === id) this.current.kill('cancelled');
    return job;
  }

  /**
   * Stops the trainer without finishing the job: it stays `running` under this owner, and the next worker to
   * claim (this one restarted, or another) resumes it from its checkpoint.
   */
  async close(): Promise<void> {
    this.stopping = true;
    this.current?.kill('worker shutting down');
    // A job still preparing its data or being evaluated ends (or stops at its next step) before the store closes.
    await this.running?.catch(() => undefined);
    this.store.close();
  }

  private emit(job: TrainingJob, event: TrainingEvent, detail: string, log?: WriteStream): void {
    log?.write(`[runner ${new Date().toISOString()}] ${event}: ${detail}\n`);
    this.opts.onEvent?.(job, event, detail);
  }

  private async run(job: TrainingJob): Promise<TrainingJob> {
    const dir = jobDir(this.opts.dataDir, job.id);
    mkdirSync(dir, { recursive: true });
    const log = createWriteStream(join(dir, 'trainer.log'), { flags: 'a' });
    try {
      return await this.runStages(job, dir, log);
    } catch (err) {
      if (err instanceof JobCancelled) {
        this.emit(job, 'cancelled', err.message, log);
        return this.store.finish(job.id, 'cancelled', { error: err.message });
      }
      const message = (err as Error).message;
      if (err instanceof WorkerStopping) {
        this.emit(job, 'trainer-exit', `left for resumption: ${message}`, log);
        return this.store.require(job.id);
      }
      this.emit(job, 'failed', message, log);
      return this.store.finish(job.id, 'failed', { error: message });
    } finally {
      this.current = null;
      await new Promise<void>((r) => log.end(r));
    }
  }

  private async runStages(job: TrainingJob, dir: string, log: WriteStream): Promise<TrainingJob> {
    this.emit(
      job,
      'started',
      `job ${job.id} (claim ${job.attempts}) config ${job.spec.config}, data ${job.spec.data.join(', ') || 'default cache'}`,
      log,
    );
    const version = job.version ?? versionName(job);
    if (!job.version) this.store.setVersion(job.id, version);
    const data = prepareFeatureCache(job.spec.data, dir, this.opts.cacheDir ?? defaultFeatureCacheDir());
    const sharedTable =
      this.opts.embeddingsDir ??
      join(defaultCacheDir(), 'embeddings', (this.opts.textEncoder ?? DEFAULT_TEXT_ENCODER).id);
    const table = await prepareEmbeddings(data, dir, sharedTable, this.opts.embedTexts);
    this.emit(job, 'data', `${data.note}; ${table.note}`, log);
    const exportDir = join(dir, 'export');
    await this.train(job, dir, exportDir, { cacheDir: data.cacheDir, embeddings: table.dir }, version, log);
    const candidateDir = join(exportDir, version);
    return this.gateAndPublish(job, candidateDir, data.dataDir, log);
  }

  private trainerArgs(
    job: TrainingJob,
    dir: string,
    exportDir: string,
    inputs: TrainerInputs,
    version: string,
    resume: boolean,
  ): string[] {
    const { cacheDir, embeddings } = inputs;
    return [
      ...(this.opts.trainer ?? trainerFromEnv()).args,
      'all',
      '--config',
      job.spec.config,
      '--cache',
      cacheDir,
      '--embeddings',
      embeddings,
      '--out',
      join(dir, 'run'),
      '--models',
      exportDir,
      '--version',
      version,
      '--threads',
      String(this.opts.threads),
      ...(resume ? ['--resume'] : []),
    ];
  }

  private async train(
    job: TrainingJob,
    dir: string,
    exportDir: string,
    inputs: TrainerInputs,
    version: string,
    log: WriteStream,
  ): Promise<void> {
    const runDir = join(dir, 'run');
    if (job.spec.fromRun) this.seedRun(job, job.spec.fromRun, runDir, log);
    for (let run = 1; run <= this.opts.maxTrainerRuns; run++) {
      if (this.stopping)
        throw new WorkerStopping('the worker stopped before the trainer started; the next claim resumes the job');
      const resume = existsSync(runDir) && readdirSync(runDir).length > 0;
      if (resume)
        this.emit(
          job,
          'resuming',
          `trainer run ${run}/${this.opts.maxTrainerRuns} continues from the checkpoints in ${runDir}`,
          log,
        );
      const exit = await this.runTrainer(job, this.trainerArgs(job, dir, exportDir, inputs, version, resume), log);
      if (exit.cancelled && this.stopping)
        throw new WorkerStopping('the worker stopped; the next claim resumes from the checkpoint');
      if (exit.cancelled) throw new JobCancelled('cancelled while training');
      const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
      this.emit(job, 'trainer-exit', how, log);
      if (exit.code === 0) {
        if (!existsSync(join(exportDir, version, 'manifest.json')))
          throw new Error(`the trainer finished but wrote no model at ${join(exportDir, version)}`);
        return;
      }
      if (run === this.opts.maxTrainerRuns) {
        throw new Error(
          `the trainer failed (${how}) ${run} time(s): ${exit.stderrTail || 'no error output'}; log: ${join(dir, 'trainer.log')}`,
        );
      }
    }
  }

  /** Copies another run's checkpoints into an empty run folder (a resumed job keeps its own). */
  private seedRun(job: TrainingJob, fromRun: string, runDir: string, log: WriteStream): void {
    if (existsSync(runDir) && readdirSync(runDir).length > 0) return;
    const from = resolve(fromRun);
    const files = existsSync(from) ? readdirSync(from).filter((f) => RUN_CHECKPOINTS.has(f)) : [];
    if (!files.includes('vq.pt'))
      throw new Error(`--from-run ${fromRun}: no vq.pt there; give a trainer run folder (trainer/runs/<name>)`);
    mkdirSync(runDir, { recursive: true });
    for (const f of files) copyFileSync(join(from, f), join(runDir, f));
    this.emit(job, 'data', `seeded the run from ${from}: ${files.join(', ')} (finished stages are skipped)`, log);
  }

  private runTrainer(job: TrainingJob, args: string[], log: WriteStream): Promise<TrainerExit> {
    const trainer = this.opts.trainer ?? trainerFromEnv();
    log.write(`[runner] $ ${trainer.command} ${args.join(' ')}\n`);
    return new Promise((resolveExit, reject) => {
      const child = spawn(trainer.command, args, {
        cwd: trainer.cwd ?? REPO_ROOT,
        // Its own process group: a cancel must reach the trainer's own children too (data loaders, onnx checks).
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PYTHONUNBUFFERED: '1', ...trainer.env },
      });
      let cancelled = false;
      let stderrTail = '';
      let killTimer: NodeJS.Timeout | undefined;
      const killGroup = (signal: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, signal);
        } catch {
          // the group is already gone
        }
      };
      const kill = (why: string) => {
        if (cancelled) return;
        cancelled = true;
        log.write(`[runner] stopping the trainer: ${why}\n`);
        killGroup('SIGTERM');
        killTimer = setTimeout(() => killGroup('SIGKILL'), this.opts.killGraceMs);
      };
      this.current = { job, kill };
      child.once('error', (err) => {
        clearInterval(beat);
        reject(new Error(`cannot start the trainer (${trainer.command}): ${err.message}`));
      });
      if (child.pid) this.store.setChild(job.id, child.pid);
      const beat = setInterval(() => {
        const state = this.store.heartbeat(job.id, this.owner);
        if (state === 'cancelling' || state === 'cancelled') kill('cancel requested');
      }, this.opts.heartbeatMs);
      const stageStarts = new Map<string, number>();
      let lastSaved = 0;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log.write(`${line}\n`);
        const progress = parseProgressLine(line, stageStarts);
        if (!progress) return;
        this.opts.onProgress?.(job, progress);
        if (Date.now() - lastSaved > 500 || progress.stage === 'export') {
          lastSaved = Date.now();
          this.store.setProgress(job.id, progress);
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        log.write(text);
        stderrTail = lastLines(stderrTail + text);
      });
      child.once('close', (code, signal) => {
        clearInterval(beat);
        clearTimeout(killTimer);
        this.store.setChild(job.id, null);
        resolveExit({ code, signal, stderrTail, cancelled });
      });
    });
  }

  private liveModel(log: WriteStream, job: TrainingJob): LiveModel | null {
    const dir = liveVersionDir(this.opts.modelsDir);
    if (!dir) return null;
    try {
      return { version: basename(dir), dir, manifest: readManifest(dir) };
    } catch (err) {
      this.emit(
        job,
        'evaluated',
        `the live model's manifest is unreadable (${(err as Error).message}); comparing against nothing`,
        log,
      );
      return null;
    }
  }

  /** The live model's metrics as the gate sees them: its manifest's, overlaid with the same evaluation as the candidate's. */
  private async liveMetrics(candidate: Candidate): Promise<Record<string, unknown> | null> {
    if (!candidate.live) return null;
    const measured = this.opts.evaluateLive ? await this.opts.evaluateLive(candidate.live, candidate) : {};
    return { ...candidate.live.manifest.metrics, ...measured };
  }

  /** Stores evaluated metrics in the candidate's manifest, so the published version carries what the gate saw. */
  private recordMetrics(candidateDir: string, manifest: ModelManifest, metrics: Record<string, unknown>): void {
    if (JSON.stringify(metrics) === JSON.stringify(manifest.metrics)) return;
    const file = join(candidateDir, 'manifest.json');
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    raw.metrics = { ...manifest.metrics, ...metrics };
    writeFileSync(`${file}.tmp`, JSON.stringify(raw, null, 1));
    renameSync(`${file}.tmp`, file);
  }

  private async gateAndPublish(
    job: TrainingJob,
    candidateDir: string,
    dataDir: string | null,
    log: WriteStream,
  ): Promise<TrainingJob> {
    const check = await verifyVersion(candidateDir, { textEncoder: this.opts.textEncoder, loadOnnx: true });
    if (!check.ok) throw new Error(`the trained model at ${candidateDir} is invalid: ${check.errors.join('; ')}`);
    const candidate: Candidate = {
      dir: candidateDir,
      manifest: check.manifest!,
      job,
      dataDir,
      live: this.liveModel(log, job),
    };
    let metrics: Record<string, unknown>;
    let liveMetrics: Record<string, unknown> | null;
    // Evaluating through the engine takes minutes: chat and the terminal show it as a stage of its own.
    const evaluating: TrainingProgress = { stage: 'evaluate', at: new Date().toISOString() };
    this.store.setProgress(job.id, evaluating);
    this.opts.onProgress?.(job, evaluating);
    try {
      metrics = await (this.opts.evaluate ?? manifestMetrics)(candidate);
      liveMetrics = await this.liveMetrics(candidate);
    } catch (err) {
      throw new Error(
        `evaluating ${candidate.manifest.version} failed: ${firstLine((err as Error).message)}; the model is kept in ${candidateDir}`,
        { cause: err },
      );
    }
    this.recordMetrics(candidateDir, check.manifest!, metrics);
    const rules = job.spec.gate ?? this.opts.gate ?? DEFAULT_GATE;
    this.emit(
      job,
      'evaluated',
      rules.map((r) => `${r.metric} = ${metricAt(metrics, r.metric) ?? 'missing'}`).join(', ') || 'no gated metrics',
      log,
    );
    log.write(`[runner] metrics: ${JSON.stringify(metrics)}\n[runner] live metrics: ${JSON.stringify(liveMetrics)}\n`);
    const decision: GateDecision = decideGate(metrics, liveMetrics, rules);
    if (this.store.get(job.id)?.state !== 'running') throw new JobCancelled('cancelled before publishing');
    if (!decision.pass) {
      this.emit(job, 'rejected', `${decision.summary}; artefacts kept in ${candidateDir}`, log);
      return this.store.finish(job.id, 'rejected', {
        error: decision.summary,
        result: { gate: decision, artefacts: candidateDir, metrics, liveMetrics },
      });
    }
    const published = await publishVersion(candidateDir, {
      registry: this.opts.modelsDir,
      textEncoder: this.opts.textEncoder,
    });
    this.emit(
      job,
      'published',
      `${published.version} is live (was ${published.previous ?? 'none'}); ${decision.summary}`,
      log,
    );
    const done = this.store.finish(job.id, 'published', {
      result: {
        gate: decision,
        version: published.version,
        previous: published.previous,
        dir: published.dir,
        metrics,
        liveMetrics,
      },
    });
    try {
      await this.opts.onPublished?.(published.version, done);
    } catch (err) {
      log.write(`[runner] announcing ${published.version} failed: ${(err as Error).message}\n`);
    }
    return done;
  }
}

export function isFinal(job: TrainingJob | null): boolean {
  return job !== null && FINAL_STATES.includes(job.state);
}
