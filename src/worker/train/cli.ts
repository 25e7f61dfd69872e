/**
 * `charades train …` (the `models` commands live beside the registry: src/motion/cli/models.ts).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import type { Config } from '../../config/index.js';
import { checkTrainingData } from './data.js';
import { DEFAULT_GATE_PROBES, PRODUCTION_GATE, productionEvaluation } from './evaluate.js';
import { probePlanner } from '../../motion/index.js';
import { parseGateRules } from './gate.js';
import { TrainingRunner, jobLogPath, trainerFromEnv } from './runner.js';
import type { TrainingRunnerOptions } from './runner.js';
import type { TrainingJob } from './store.js';
import { describeJob, runTrainingWorker } from './worker.js';
import type { TrainingWorkerHandle, TrainingWorkerOptions } from './worker.js';

const PRESETS = ['tiny', 'small', 'full'];

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface TrainOptions {
  data: string[];
  config: string;
  gate?: string;
  fromRun?: string;
  wait?: boolean;
  list?: boolean;
  cancel?: string;
  status?: string;
  models?: string;
}

function trainerConfigArg(config: string): string {
  if (PRESETS.includes(config)) return config;
  if (!config.endsWith('.json'))
    throw new Error(`--config must be a preset (${PRESETS.join(', ')}) or a .json file, got '${config}'`);
  const file = resolve(config);
  if (!existsSync(file)) throw new Error(`--config ${config}: file not found`);
  return file;
}

function checkFromRun(dir: string): string {
  const full = resolve(dir);
  if (!existsSync(join(full, 'vq.pt')))
    throw new Error(`--from-run ${dir}: no vq.pt there; give a trainer run folder (trainer/runs/<name>)`);
  return full;
}

function jobId(text: string, flag: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) throw new Error(`${flag} expects a job number, got '${text}'`);
  return id;
}

function reportFinal(job: TrainingJob, dataDir: string): void {
  print(describeJob(job));
  print(`log: ${jobLogPath(dataDir, job.id)}`);
  if (job.state !== 'published') process.exitCode = 1;
}

/**
 * How the gate measures models: `production` (default) runs the candidate and the live model through this
 * engine and the ONNX evaluator (CHARADES_TRAIN_EVAL_LIMIT test clips, 0 = all); `trainer` trusts the metrics
 * the Python trainer wrote into the manifest.
 */
export function evaluationFromEnv(config: Config): Pick<TrainingRunnerOptions, 'evaluate' | 'evaluateLive' | 'gate'> {
  if (config.trainEval === 'trainer') return {};
  const limit = config.trainEvalLimit;
  const evaluation = productionEvaluation({
    // The gate scores the packs the default model trains on (motion + cmu), not only the configured motion folder.
    cacheDir: join(resolve(config.dataDir), 'training', 'live-eval'),
    limit,
    // The chat path's planner is provided by the CLI's composition (src/cli.ts loads the probes room for these commands).
    probes: { files: DEFAULT_GATE_PROBES, planner: probePlanner },
    onProgress: (line) => process.stderr.write(`train: evaluate: ${line}\n`),
  });
  return { ...evaluation, gate: PRODUCTION_GATE };
}

function runnerOptionsFrom(config: Config, models?: string): TrainingRunnerOptions {
  return {
    dataDir: config.dataDir,
    modelsDir: resolve(models ?? config.modelsDir),
    trainer: trainerFromEnv({ CHARADES_TRAINER: config.trainer }),
  };
}

/** `charades worker --train`: the training worker until SIGINT/SIGTERM (a running job then resumes on the next start). */
export async function startTrainingWorker(
  config: Config,
  extra: Partial<TrainingWorkerOptions> = {},
): Promise<TrainingWorkerHandle> {
  return runTrainingWorker({
    ...runnerOptionsFrom(config),
    ...evaluationFromEnv(config),
    redisUrl: config.redisUrl,
    installSignalHandlers: true,
    ...extra,
  });
}

async function trainAction(opts: TrainOptions): Promise<void> {
  const config = loadConfig();
  const runnerOpts = runnerOptionsFrom(config, opts.models);
  if (opts.list || opts.cancel || opts.status) {
    const runner = new TrainingRunner(runnerOpts);
    try {
      if (opts.cancel) print(describeJob(runner.cancel(jobId(opts.cancel, '--cancel'))));
      else if (opts.status) print(describeJob(runner.store.require(jobId(opts.status, '--status'))));
      else {
        const jobs = runner.store.list();
        if (jobs.length === 0) print('no training jobs');
        for (const j of jobs) print(describeJob(j));
      }
    } finally {
      await runner.close();
    }
    return;
  }
  const spec = {
    data: checkTrainingData(opts.data),
    config: trainerConfigArg(opts.config),
    gate: opts.gate ? parseGateRules(opts.gate) : undefined,
    fromRun: opts.fromRun ? checkFromRun(opts.fromRun) : undefined,
    requestedBy: 'cli',
  };
  const queue = new TrainingRunner(runnerOpts);
  const job = queue.store.enqueue(spec);
  await queue.close();
  print(`queued training job ${job.id} (config ${spec.config})`);
  if (!opts.wait) {
    print('a training worker runs it: charades worker --train (or run charades train --wait to run it here)');
    return;
  }
  const worker = await startTrainingWorker(config, { ...runnerOpts, untilJob: job.id, pollMs: 1000 });
  await worker.done;
  const final = worker.runner.store.require(job.id);
  await worker.close();
  reportFinal(final, config.dataDir);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('queue a training job (train → evaluate → gate → publish); --wait runs it here with a progress bar')
    .option(
      '--data <dir>',
      'motion data to train on: packed, a BVH folder or a HumanML3D folder; repeat to merge (default: the current features cache)',
      collect,
      [],
    )
    .option('--config <name|file>', `trainer preset (${PRESETS.join(', ')}) or JSON config file`, 'full')
    .option(
      '--gate <rules>',
      'publish only if these beat the live model, e.g. test.r_precision_top3:higher,test.fid:lower',
    )
    .option(
      '--from-run <dir>',
      "start from a trainer run folder's checkpoints (its finished stages are skipped), e.g. stages trained on a GPU",
    )
    .option('--wait', 'run the queue in this process until the job finishes')
    .option('--list', 'list recent training jobs')
    .option('--status <id>', 'show one training job')
    .option('--cancel <id>', 'cancel a queued or running training job')
    .option('--models <dir>', 'model registry (default CHARADES_MODELS or models/)')
    .action((opts: TrainOptions) => trainAction(opts));
}
