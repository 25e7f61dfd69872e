// The gate fed by the production path: the candidate and the live model are both run through this engine and one
// ONNX evaluator (evaluateProductionPath) on the same test clips. The fixture trainer "trains" by exporting a copy of
// the committed model, so both sides are real models the engine runs; equal weights must score equal, and equal is
// not better. Also: a corrupt artefact is refused at publish.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveVersion, liveVersionDir, readManifest } from '../../src/motion/registry.js';
import { defaultDataDir, defaultModelsDir } from '../../src/motion/paths.js';
import { PRODUCTION_GATE, TrainingRunner, metricAt, productionEvaluation } from '../../src/worker/train/index.js';
import type { Candidate, TrainingJob, TrainingRunnerOptions } from '../../src/worker/train/index.js';
import { FAKE_TRAINER, PYTHON, registryWithCopy } from '../fixtures/train-worker/models.js';
import { offlineProbePlanner } from '../../src/eval-probes.js';

const committed = liveVersionDir(defaultModelsDir());
const haveAll = committed !== null && existsSync(join(defaultDataDir(), 'index.jsonl'));
const root = mkdtempSync(join(tmpdir(), 'charades-train-prod-'));
after(() => rmSync(root, { recursive: true, force: true }));

function registryWithBase(dir: string): Promise<string> {
  return registryWithCopy(committed!, dir);
}

function runnerOptions(
  dir: string,
  registry: string,
  env: Record<string, string>,
  extra: Partial<TrainingRunnerOptions> = {},
): TrainingRunnerOptions {
  return {
    dataDir: join(dir, 'state'),
    modelsDir: registry,
    trainer: {
      command: PYTHON,
      args: [FAKE_TRAINER],
      env: { FAKE_STEPS: '2', FAKE_STEP_S: '0.01', FAKE_COPY_FROM: committed!, ...env },
    },
    ...extra,
  };
}

async function runOne(opts: TrainingRunnerOptions): Promise<TrainingJob> {
  const runner = new TrainingRunner(opts);
  try {
    runner.store.enqueue({ config: 'tiny' });
    const job = await runner.runNext();
    assert.ok(job);
    return job;
  } finally {
    await runner.close();
  }
}

test(
  'the gate compares engine-evaluated R-precision and FID with the live model on one evaluator; equal weights are refused',
  { skip: !haveAll && 'no committed model or shared data' },
  async () => {
    const dir = mkdtempSync(join(root, 'gate-'));
    const registry = await registryWithBase(dir);
    const progress: string[] = [];
    // The gate reads only the test split; pairs that match no clip leave the (slow) zero-shot set out of this test.
    const zeroShotFile = join(dir, 'no-pairs.json');
    writeFileSync(zeroShotFile, JSON.stringify({ pairs: [{ action: 'no-such-action', style: 'none' }] }));
    // Two acting probes through the offline planner stand in for the gate's probe sets.
    const probeFile = join(dir, 'probes.json');
    writeFileSync(
      probeFile,
      JSON.stringify({
        format: 'charades-probes/1',
        seeds: [0, 1],
        passSeeds: 1,
        probes: [
          {
            id: 'wave',
            category: 'hands',
            prompt: 'wave your left hand',
            checks: [{ check: 'wrist-above', above: 'shoulder', fraction: 0.3, side: 'left' }],
          },
          {
            id: 'crawl',
            category: 'floor',
            prompt: 'crawl on all fours',
            checks: [{ check: 'on-all-fours', pelvis: 0.7, hands: 0.2, fraction: 0.3 }],
          },
        ],
      }),
    );
    const planner = () => offlineProbePlanner({ ...process.env, CHARADES_EXPAND: 'off' });
    const evaluation = productionEvaluation({
      cacheDir: join(dir, 'live-eval'),
      limit: 32,
      zeroShotFile,
      probes: { files: [probeFile], planner },
      onProgress: (l) => progress.push(l),
    });
    let seenCandidate: Candidate | undefined;
    const job = await runOne(
      runnerOptions(
        dir,
        registry,
        {},
        {
          evaluate: (c) => {
            seenCandidate = c;
            return evaluation.evaluate(c);
          },
          evaluateLive: evaluation.evaluateLive,
          gate: PRODUCTION_GATE,
        },
      ),
    );
    assert.equal(job.state, 'rejected', job.error ?? '');
    const metrics = job.result?.metrics as Record<string, unknown>;
    const live = job.result?.liveMetrics as Record<string, unknown>;
    const r3 = metricAt(metrics, 'production.test.r_precision_top3');
    const fid = metricAt(metrics, 'production.test.fid');
    assert.ok(r3 !== null && r3 > 0.3 && r3 <= 1, `engine R-precision top-3 ${r3}`);
    assert.ok(fid !== null && fid >= 0, `engine FID ${fid}`);
    assert.equal(
      metricAt(live, 'production.test.r_precision_top3'),
      r3,
      'same weights, same seed, same evaluator: same score',
    );
    assert.equal(metricAt(live, 'production.test.fid'), fid);
    const probes = metricAt(metrics, 'production.probes.passed');
    assert.ok(probes !== null && probes >= 0 && probes <= 2, `probes passed ${probes}`);
    assert.equal(metricAt(live, 'production.probes.passed'), probes, 'same weights, same probes passed: not lower');
    assert.equal(metricAt(metrics, 'production.probes.seeds'), 4);
    for (const m of ['r_precision_top3_macro', 'paraphrase_r_precision_top3', 'side_accuracy', 'floor_within_rate']) {
      const v = metricAt(metrics, `production.test.${m}`);
      assert.ok(v !== null && v >= 0 && v <= 1, `${m} = ${v}`);
    }
    assert.equal(metricAt(metrics, 'production.test.clips'), 32);
    assert.equal(
      (metrics.production as { test: { evaluator: string } }).test.evaluator,
      join(registry, 'base'),
      "the live model's evaluator scores both",
    );
    // The trainer's Python numbers stay beside the engine's.
    const python = 'test.text_to_motion.generated.descriptions_k4.r_precision_top3';
    assert.equal(metricAt(metrics, python), metricAt(readManifest(committed!).metrics, python));
    assert.match(
      job.error ?? '',
      /^gate failed: production\.test\.r_precision_top3_macro [\d.]+ vs live [\d.]+: not higher; production\.test\.paraphrase_r_precision_top3 [\d.]+ vs live [\d.]+: not higher$/,
    );
    assert.equal(liveVersion(registry), 'base');
    assert.ok(seenCandidate?.live?.version === 'base' && seenCandidate.dataDir === null);

    // The live model's scores are cached: a second job does not evaluate it again.
    assert.equal(readdirSync(join(dir, 'live-eval')).length, 1);
    const before = progress.length;
    const t0 = performance.now();
    const again = await evaluation.evaluateLive(seenCandidate.live, seenCandidate);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(progress.length, before, 'nothing was generated');
    assert.deepEqual(again, { production: (live as { production: unknown }).production });
  },
);

test(
  'a corrupt artefact (truncated ONNX) is refused at publish and the live version stays',
  { skip: !haveAll && 'no committed model' },
  async () => {
    const dir = mkdtempSync(join(root, 'corrupt-'));
    const registry = await registryWithBase(dir);
    const job = await runOne(runnerOptions(dir, registry, { FAKE_CORRUPT: 'gpt.onnx' }));
    assert.equal(job.state, 'failed');
    assert.match(
      job.error ?? '',
      /the trained model at .* is invalid: .*gpt\.onnx: sha256 \w+… does not match the manifest's \w+… \(corrupt or altered\)/,
    );
    assert.equal(liveVersion(registry), 'base');
    assert.deepEqual(
      readdirSync(registry)
        .filter((f) => !f.startsWith('.'))
        .sort(),
      ['HISTORY.json', 'LIVE', 'base'],
    );
  },
);
