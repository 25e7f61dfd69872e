// The training runner with a real child process: test/fixtures/train-worker/fake_trainer.py speaks the real
// trainer's arguments and JSON-lines protocol, checkpoints every step and exports real ONNX files + manifest.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveVersion, publishVersion, readManifest, subscribeSwap, watchLive } from '../../src/motion/registry.js';
import type { SwapMessage } from '../../src/motion/registry.js';
import { openDataset, writePackedSubset } from '../../src/motion/dataset.js';
import { defaultDataDir } from '../../src/motion/paths.js';
import { readFeatureCache } from '../../src/motion/featureCache.js';
import { TrainingRunner, jobDir, jobLogPath, processAlive, runTrainingWorker } from '../../src/worker/train/index.js';
import type {
  TrainingEvent,
  TrainingJob,
  TrainingProgress,
  TrainingRunnerOptions,
} from '../../src/worker/train/index.js';
import {
  FAKE_TRAINER,
  FIXTURE_DIR,
  PYTHON,
  evalMetrics,
  makeModel,
  writeFakeTrainerInputs,
} from '../fixtures/train-worker/models.js';
import { startRedis } from '../jobs/redis.js';

const root = mkdtempSync(join(tmpdir(), 'charades-train-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Harness {
  opts: TrainingRunnerOptions;
  events: { event: TrainingEvent; detail: string }[];
  progress: TrainingProgress[];
}

/** A fresh state folder, registry and features cache; `env` steers the fixture trainer. */
function harness(env: Record<string, string> = {}, extra: Partial<TrainingRunnerOptions> = {}): Harness {
  const dir = mkdtempSync(join(root, 'h-'));
  const cacheDir = join(dir, 'cache');
  writeFakeTrainerInputs(cacheDir, join(dir, 'embeddings'));
  const h: Harness = { events: [], progress: [], opts: {} as TrainingRunnerOptions };
  h.opts = {
    dataDir: join(dir, 'state'),
    modelsDir: join(dir, 'models'),
    cacheDir,
    embeddingsDir: join(dir, 'embeddings'),
    trainer: { command: PYTHON, args: [FAKE_TRAINER], env: { FAKE_STEPS: '4', FAKE_STEP_S: '0.02', ...env } },
    heartbeatMs: 100,
    killGraceMs: 1000,
    onEvent: (_job, event, detail) => h.events.push({ event, detail }),
    onProgress: (_job, p) => h.progress.push(p),
    ...extra,
  };
  return h;
}

async function runOne(
  h: Harness,
  spec: Parameters<TrainingRunner['store']['enqueue']>[0] = { config: 'tiny' },
): Promise<TrainingJob> {
  const runner = new TrainingRunner(h.opts);
  try {
    runner.store.enqueue(spec);
    const job = await runner.runNext();
    assert.ok(job, 'the runner claimed no job');
    return job;
  } finally {
    await runner.close();
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('a full cycle', () => {
  test('enqueue → progress → evaluate → gate → publish, and a watching bot sees the new live version', async () => {
    const h = harness({ FAKE_METRICS: JSON.stringify(evalMetrics(0.7, 0.4)) });
    await makeModel(join(root, 'old'), 'old', { metrics: evalMetrics(0.5, 1.0) });
    await publishVersion(join(root, 'old'), { registry: h.opts.modelsDir });
    const swaps: (string | null)[] = [];
    const watch = watchLive(h.opts.modelsDir, (v) => swaps.push(v), { pollMs: 50 });
    let evaluated: string | undefined;
    h.opts.evaluate = (c) => {
      evaluated = c.dir;
      return { ...c.manifest.metrics, evaluatedBy: 'test' };
    };
    const job = await runOne(h);
    watch.close();
    assert.equal(job.state, 'published', job.error ?? '');
    const version = String(job.result?.version);
    assert.match(version, /^charades-tiny-job1-\d{8}-\d{4}$/);
    assert.equal(liveVersion(h.opts.modelsDir), version);
    await until('the watcher', () => swaps.includes(version), 2000);
    assert.equal(job.result?.previous, 'old');
    assert.match(
      String((job.result?.gate as { summary: string }).summary),
      /gate passed: \S+\.r_precision_top3 0\.7 vs live 0\.5: higher, better; \S+\.fid 0\.4 vs live 1: lower, better/,
    );
    assert.ok(evaluated?.endsWith(join('export', version)));
    assert.equal(
      readManifest(join(h.opts.modelsDir, version)).metrics.evaluatedBy,
      'test',
      'the published manifest carries the evaluated metrics',
    );
    // Progress: both stages, steps in order, loss and ETA parsed, the bar's fraction reaching 1.
    const vq = h.progress.filter((p) => p.stage === 'vq');
    assert.deepEqual(
      vq.map((p) => p.step),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      h.progress.filter((p) => p.stage === 'gpt').map((p) => p.step),
      [1, 2, 3, 4],
    );
    assert.equal(vq[3].fraction, 1);
    assert.equal(vq[1].loss, 0.5);
    assert.equal(typeof vq[0].etaS, 'number');
    const log = readFileSync(jobLogPath(h.opts.dataDir, job.id), 'utf8');
    assert.match(log, /"stage": "gpt", "step": 4/);
    assert.match(log, /\[runner .*\] published: /);
    assert.deepEqual(
      h.events.map((e) => e.event),
      ['started', 'data', 'trainer-exit', 'evaluated', 'published'],
    );
  });

  test('with nothing live, the first model is published without comparison', async () => {
    const h = harness();
    const job = await runOne(h);
    assert.equal(job.state, 'published', job.error ?? '');
    assert.match(String((job.result?.gate as { summary: string }).summary), /no live model to beat/);
  });
});

describe('the gate', () => {
  test('a model that does not beat the live one is kept but not published, with the reason', async () => {
    const h = harness({ FAKE_METRICS: JSON.stringify(evalMetrics(0.55, 0.9)) });
    await makeModel(join(root, 'strong'), 'strong', { metrics: evalMetrics(0.9, 0.2) });
    await publishVersion(join(root, 'strong'), { registry: h.opts.modelsDir });
    const job = await runOne(h);
    assert.equal(job.state, 'rejected');
    assert.equal(liveVersion(h.opts.modelsDir), 'strong');
    assert.match(
      job.error ?? '',
      /gate failed: test\.text_to_motion\.generated\.descriptions_k4\.r_precision_top3 0\.55 vs live 0\.9: not higher; \S+\.fid 0\.9 vs live 0\.2: not lower/,
    );
    const artefacts = String(job.result?.artefacts);
    assert.ok(existsSync(join(artefacts, 'gpt.onnx')), 'the rejected model stays on disk for inspection');
  });

  test("a job's own gate rules win over the runner's", async () => {
    const h = harness({ FAKE_METRICS: JSON.stringify(evalMetrics(0.55, 0.1)) });
    await makeModel(join(root, 'strong2'), 'strong2', { metrics: evalMetrics(0.9, 0.2) });
    await publishVersion(join(root, 'strong2'), { registry: h.opts.modelsDir });
    const job = await runOne(h, {
      config: 'tiny',
      gate: [{ metric: 'test.text_to_motion.generated.descriptions_k4.fid', better: 'lower' }],
    });
    assert.equal(job.state, 'published', job.error ?? '');
  });

  test('a candidate without the gated metric is rejected', async () => {
    const h = harness({ FAKE_METRICS: JSON.stringify({ val: { loss: 1 } }) });
    const job = await runOne(h);
    assert.equal(job.state, 'rejected');
    assert.match(job.error ?? '', /descriptions_k4\.r_precision_top3: the new model has no finite value/);
  });
});

describe('cancel, crash and resume', () => {
  test('cancelling from another process kills the trainer and its process group', async () => {
    const h = harness({ FAKE_STEPS: '200', FAKE_STEP_S: '0.1' });
    const runner = new TrainingRunner(h.opts);
    const other = new TrainingRunner(h.opts); // what `charades train --cancel` does: its own connection to the job table
    try {
      const queued = runner.store.enqueue({ config: 'tiny' });
      const running = runner.runNext();
      await until('the first progress line', () => h.progress.length > 0);
      const pid = runner.store.require(queued.id).childPid;
      assert.ok(pid && processAlive(pid));
      assert.equal(other.cancel(queued.id).state, 'cancelling');
      const job = await running;
      assert.equal(job?.state, 'cancelled');
      assert.equal(processAlive(pid), false, 'the trainer is gone');
      assert.ok(h.progress.length < 100, 'it stopped long before finishing');
      assert.equal(liveVersion(h.opts.modelsDir), null);
    } finally {
      await other.close();
      await runner.close();
    }
  });

  test('a queued job is cancelled at once, and finished jobs are left alone', async () => {
    const h = harness();
    const runner = new TrainingRunner(h.opts);
    try {
      const job = runner.store.enqueue({ config: 'tiny' });
      assert.equal(runner.cancel(job.id).state, 'cancelled');
      assert.equal(await runner.runNext(), null);
      assert.equal(runner.cancel(job.id).state, 'cancelled');
      assert.throws(() => runner.cancel(99), /no training job 99/);
    } finally {
      await runner.close();
    }
  });

  test('a trainer that crashes mid-training is restarted with --resume and continues from its checkpoint', async () => {
    const marker = join(root, `crash-${Date.now()}`);
    const h = harness({ FAKE_CRASH_AT: 'gpt:3', FAKE_CRASH_MARKER: marker });
    const job = await runOne(h);
    assert.equal(job.state, 'published', job.error ?? '');
    assert.ok(existsSync(marker), 'the crash happened');
    const steps = h.progress.filter((p) => p.stage === 'vq' || p.stage === 'gpt').map((p) => `${p.stage}${p.step}`);
    assert.deepEqual(
      steps,
      ['vq1', 'vq2', 'vq3', 'vq4', 'gpt1', 'gpt2', 'gpt3', 'gpt4'],
      'no step is repeated after the crash',
    );
    assert.ok(h.events.some((e) => e.event === 'resuming'));
    const log = readFileSync(jobLogPath(h.opts.dataDir, job.id), 'utf8');
    assert.match(log, /simulated crash at gpt step 3/);
    assert.match(log, /--resume/);
    assert.match(log, /"event": "resumed", "from": \{"vq": 4, "gpt": 2\}/);
  });

  test('a worker killed with SIGKILL mid-job: the next worker kills the orphaned trainer and resumes the job', async () => {
    const h = harness({ FAKE_STEPS: '10', FAKE_STEP_S: '0.15' });
    const { onEvent: _e, onProgress: _p, ...plain } = h.opts;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(FIXTURE_DIR, 'worker-child.ts'), JSON.stringify(plain)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const probe = new TrainingRunner(h.opts);
    try {
      const queued = probe.store.enqueue({ config: 'tiny' });
      await until('the child worker to reach vq step 3', () => /progress vq 3/.test(out), 30_000);
      const orphan = probe.store.require(queued.id).childPid!;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.equal(probe.store.require(queued.id).state, 'running', 'the dead worker left its job running');
      assert.ok(processAlive(orphan), 'the trainer outlived its worker (its own process group)');
      const job = await probe.runNext();
      assert.equal(job?.state, 'published', job?.error ?? '');
      assert.equal(processAlive(orphan), false);
      assert.equal(job?.attempts, 2);
      const first = h.progress.find((p) => p.stage === 'vq');
      assert.ok(
        first && first.step! > 1,
        `resumed from the checkpoint, not from step 1 (first vq step ${first?.step})`,
      );
      assert.match(readFileSync(jobLogPath(h.opts.dataDir, queued.id), 'utf8'), /"event": "resumed"/);
    } finally {
      child.kill('SIGKILL');
      await probe.close();
    }
  });
});

describe('errors', () => {
  test('a trainer that keeps failing fails the job with its last error lines', async () => {
    const h = harness({ FAKE_STEPS: '2' });
    h.opts.cacheDir = join(root, 'h-empty-cache');
    mkdirSync(h.opts.cacheDir, { recursive: true });
    writeFileSync(join(h.opts.cacheDir, 'features.json'), '{}');
    h.opts.trainer = {
      command: PYTHON,
      args: ['-c', 'import sys; print("boom: out of memory", file=sys.stderr); sys.exit(5)'],
    };
    const job = await runOne(h);
    assert.equal(job.state, 'failed');
    assert.match(
      job.error ?? '',
      /the trainer failed \(code 5\) 2 time\(s\): boom: out of memory; log: .*trainer\.log/,
    );
  });

  test('a trainer that cannot be started fails the job with a clear message', async () => {
    const h = harness();
    h.opts.trainer = { command: join(root, 'no-such-python'), args: [] };
    const job = await runOne(h);
    assert.equal(job.state, 'failed');
    assert.match(job.error ?? '', /cannot start the trainer \(.*no-such-python\): .*ENOENT/);
  });

  test('a trained model for another text encoder fails verification and is not published', async () => {
    const h = harness({ FAKE_ENCODER_ID: 'other-encoder' });
    const job = await runOne(h);
    assert.equal(job.state, 'failed');
    assert.match(job.error ?? '', /the trained model at .* is invalid: text encoder 'other-encoder' does not match/);
    assert.equal(liveVersion(h.opts.modelsDir), null);
  });

  test(
    "no features cache and no --data (a fresh checkout): the default data's cache is built first",
    { skip: !existsSync(join(defaultDataDir(), 'index.jsonl')) && 'no shared motion data' },
    async () => {
      const h = harness();
      h.opts.cacheDir = join(root, 'fresh-cache');
      const job = await runOne(h);
      assert.equal(job.state, 'published', job.error ?? '');
      const cache = readFeatureCache(h.opts.cacheDir);
      assert.equal(cache.meta.clips.length, openDataset(defaultDataDir()).records.length);
      assert.match(
        h.events.find((e) => e.event === 'data')?.detail ?? '',
        /built features cache .*fresh-cache for .*: \d+ clips, \d+ frames/,
      );
    },
  );
});

describe('data and the worker loop', () => {
  test(
    '--data with a packed folder: the TypeScript features cache is built for the job and used by the trainer',
    { skip: !existsSync(join(defaultDataDir(), 'index.jsonl')) && 'no shared motion data' },
    async () => {
      const ds = openDataset(defaultDataDir());
      const dataDir = join(root, 'packed');
      writePackedSubset(ds, [...ds.split('train').slice(0, 5), ...ds.split('test').slice(0, 2)], dataDir);
      const h = harness();
      const job = await runOne(h, { config: 'tiny', data: [dataDir] });
      assert.equal(job.state, 'published', job.error ?? '');
      const cache = JSON.parse(
        readFileSync(join(h.opts.dataDir, 'training', String(job.id), 'features', 'features.json'), 'utf8'),
      ) as { clips: unknown[]; layout: string };
      assert.equal(cache.clips.length, 7);
      assert.equal(cache.layout, 'charades-ric71/1');
      assert.equal(
        (readManifest(join(h.opts.modelsDir, String(job.result?.version))).training as { clips: number }).clips,
        7,
      );
      assert.match(
        h.events.find((e) => e.event === 'data')?.detail ?? '',
        /built features cache for .*packed: 7 clips/,
      );
    },
  );

  test('runTrainingWorker runs queued jobs one at a time and announces each published version on Redis', async () => {
    const redis = await startRedis();
    const h = harness({ FAKE_STEPS: '3' });
    const swaps: SwapMessage[] = [];
    const sub = await subscribeSwap(redis.url, (m) => swaps.push(m));
    const lines: string[] = [];
    const worker = await runTrainingWorker({
      ...h.opts,
      redisUrl: redis.url,
      pollMs: 50,
      progressBar: false,
      log: (l) => lines.push(l),
    });
    try {
      const a = worker.runner.store.enqueue({ config: 'tiny' });
      const b = worker.runner.store.enqueue({ config: 'tiny', gate: [] });
      await until(
        'both jobs',
        () =>
          [a.id, b.id].every((id) =>
            ['published', 'failed', 'rejected'].includes(worker.runner.store.require(id).state),
          ),
        30_000,
      );
      const [ja, jb] = [worker.runner.store.require(a.id), worker.runner.store.require(b.id)];
      assert.equal(ja.state, 'published', ja.error ?? '');
      assert.equal(jb.state, 'published', jb.error ?? '');
      assert.ok(
        Date.parse(jb.startedAt!) >= Date.parse(ja.finishedAt!),
        'the second job started after the first finished',
      );
      await until('both swap messages', () => swaps.length === 2, 3000);
      assert.deepEqual(
        swaps.map((s) => s.version),
        [ja.result?.version, jb.result?.version],
      );
      assert.equal(liveVersion(h.opts.modelsDir), jb.result?.version);
      assert.ok(
        lines.some((l) => /^train: job 2 published: /.test(l)),
        lines.join('\n'),
      );
    } finally {
      await worker.close();
      sub.close();
      await redis.stop();
    }
  });

  test('a second worker claims nothing while the first runs a job', async () => {
    const h = harness({ FAKE_STEPS: '30', FAKE_STEP_S: '0.05' });
    const first = new TrainingRunner(h.opts);
    const second = new TrainingRunner({ ...h.opts, owner: 'elsewhere 1' });
    try {
      first.store.enqueue({ config: 'tiny' });
      first.store.enqueue({ config: 'tiny' });
      const running = first.runNext();
      await until('the first job to start', () => h.progress.length > 0);
      assert.equal(await second.runNext(), null);
      first.cancel(1);
      await running;
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describe('a job started from another run', () => {
  test("--from-run seeds the job's run folder with that run's checkpoints and the trainer resumes from them", async () => {
    const h = harness({ FAKE_METRICS: JSON.stringify(evalMetrics(0.7, 0.4)) });
    const from = mkdtempSync(join(root, 'gpu-run-'));
    for (const f of ['vq.pt', 'gpt.pt', 'tokens.pt', 'evaluator.pt', 'notes.txt'])
      writeFileSync(join(from, f), `${f} trained elsewhere`);
    const job = await runOne(h, { config: 'tiny', fromRun: from });
    assert.equal(job.state, 'published', job.error ?? '');
    const runDir = join(jobDir(h.opts.dataDir, job.id), 'run');
    const seeded = h.events.find((e) => e.detail.startsWith('seeded the run'));
    assert.ok(seeded, 'the job log says where its checkpoints came from');
    assert.match(seeded.detail, /evaluator\.pt, gpt\.pt, tokens\.pt, vq\.pt/);
    assert.doesNotMatch(seeded.detail, /notes\.txt/, 'only checkpoints are copied');
    const log = readFileSync(jobLogPath(h.opts.dataDir, job.id), 'utf8');
    assert.match(log, /all --config tiny .* --resume/, 'the trainer continues from the seeded checkpoints');
    assert.equal(readFileSync(join(runDir, 'vq.pt'), 'utf8'), 'vq.pt trained elsewhere');
  });

  test('--from-run without a vq.pt is refused with a message naming the folder', async () => {
    const h = harness();
    const empty = mkdtempSync(join(root, 'empty-run-'));
    const job = await runOne(h, { config: 'tiny', fromRun: empty });
    assert.equal(job.state, 'failed');
    assert.match(job.error ?? '', /--from-run .*: no vq\.pt there/);
  });
});
