/**
 * Best-of-N re-ranking: N = 1 is exactly the engine without re-ranking (same codes as the bare decoding loop
 * with each sample's own random stream), N > 1 keeps the best-scoring candidate and says how well it fits, the
 * per-model threshold is calibrated once and cached, and a model without an evaluator refuses N > 1 by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../../src/motion/dataset.js';
import { decodeCodes, decodeTokens } from '../../src/motion/engine/decode.js';
import { createEngine } from '../../src/motion/engine/engine.js';
import { loadModel } from '../../src/motion/engine/model.js';
import {
  bestOfFromEnv,
  calibrationPath,
  candidateRng,
  candidateRow,
  DEFAULT_BEST_OF,
  fitThreshold,
  FIT_PERCENTILE,
  parseBestOf,
  physicalSanity,
  ranksAbove,
  type FitCalibration,
} from '../../src/motion/engine/rerank.js';
import { sampleRng } from '../../src/motion/engine/sampling.js';
import { featurize } from '../../src/motion/features.js';
import { defaultDataDir, defaultModelsDir } from '../../src/motion/paths.js';
import { liveVersionDir } from '../../src/motion/registry.js';
import { NUM_JOINTS } from '../../src/motion/skeleton.js';
import { aggregateEmbedding, sharedSentenceEncoder } from '../../src/motion/text/index.js';
import type { Evaluator } from '../../src/motion/engine/evaluate.js';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny-model');
const LIVE = liveVersionDir(defaultModelsDir());
if (!LIVE) throw new Error('these tests need the live model in models/ (models/LIVE)');
const POS = NUM_JOINTS * 3;

test('N is a whole number from 1 to 16, from CHARADES_BEST_OF or the measured default', () => {
  assert.equal(parseBestOf('4', 'CHARADES_BEST_OF'), 4);
  for (const bad of ['0', '17', '2.5', 'four', ''])
    assert.throws(() => parseBestOf(bad, 'CHARADES_BEST_OF'), /CHARADES_BEST_OF must be a whole number from 1 to 16/);
  assert.equal(bestOfFromEnv({}), DEFAULT_BEST_OF);
  assert.equal(bestOfFromEnv({ CHARADES_BEST_OF: '2' }), 2);
  assert.throws(() => bestOfFromEnv({ CHARADES_BEST_OF: '-1' }), /CHARADES_BEST_OF must be/);
});

test('a candidate that clearly does what the words ask outranks one that does not; otherwise the total decides', () => {
  const standing = { intent: -0.8, total: 0.6 };
  const crouching = { intent: 0.6, total: 0.3 };
  assert.ok(ranksAbove(crouching, standing), 'the crouch for "crouch down", though the evaluator likes the stand more');
  assert.ok(!ranksAbove(standing, crouching));
  assert.ok(ranksAbove({ intent: 0.9, total: 0.5 }, { intent: 0.6, total: 0.4 }), 'both clear: the total');
  assert.ok(ranksAbove({ intent: 0, total: 0.5 }, { intent: 0, total: 0.4 }), 'no intent: the total');
  assert.ok(!ranksAbove({ intent: 0, total: 0.4 }, { intent: 0, total: 0.4 }), 'a tie keeps the earlier one');
});

test("candidate 0 of each sample is that sample's own stream, in the first rows of the batch", () => {
  const a = candidateRng(7, 2, 0);
  const b = sampleRng(7, 2);
  for (let i = 0; i < 5; i++) assert.equal(a(), b());
  const c = candidateRng(7, 2, 1);
  const d = sampleRng(7, 2);
  assert.notEqual(c(), d(), 'other candidates draw other streams');
  assert.deepEqual(
    [0, 1, 2, 3].map((s) => candidateRow(s, 0, 4)),
    [0, 1, 2, 3],
  );
  assert.equal(candidateRow(1, 2, 4), 9);
});

test('physical sanity: a ground-truth clip standing in place does not skate; the same clip dragged sideways at 1 m/s does', () => {
  const ds = openDataset(defaultDataDir());
  const r = ds.records.find((x) => x.id === 'bnr2_wave-left-hand_normal_005');
  assert.ok(r, 'the Bandai-Namco wave clip is in the data');
  const joints = ds.positions(r);
  const T = r.num_frames;
  assert.equal(physicalSanity(featurize(joints, T)).skate, 0);
  const dragged = joints.slice();
  for (let t = 0; t < T; t++) for (let j = 0; j < NUM_JOINTS; j++) dragged[t * POS + j * 3] += t * 0.05; // 1 m/s
  const s = physicalSanity(featurize(dragged, T));
  assert.ok(s.skate > 0.9 && s.penalty > 0.9, `a standing body slid at 1 m/s skates in ${s.skate} of its frames`);
});

test('a model without an evaluator keeps N = 1, fills no fit, and refuses N > 1 by name', async () => {
  const engine = await createEngine({ modelDir: TINY, bestOf: 8 });
  try {
    assert.equal(engine.bestOf, 1);
    assert.equal(engine.fitThreshold, null);
    const { motions } = await engine.generate({ segments: [{ text: 'a person waves', seconds: 1 }] });
    assert.equal(motions[0].provenance.fit, undefined);
    await assert.rejects(
      engine.generate({ segments: [{ text: 'a person waves', seconds: 1 }] }, { bestOf: 2 }),
      /bestOf 2: model .* carries no evaluator/,
    );
  } finally {
    await engine.close();
  }
  await assert.rejects(createEngine({ modelDir: TINY, bestOf: 0 }), /bestOf must be a whole number from 1 to 16/);
});

test("N = 1 decodes exactly what the bare decoding loop does with each sample's own stream", async () => {
  const encoder = await sharedSentenceEncoder();
  const engine = await createEngine({ modelDir: LIVE, encoder, bestOf: 1 });
  const model = await loadModel(LIVE, { encoder: { id: encoder.id, dim: encoder.dim } });
  try {
    const text = 'a person walks forward and waves';
    const seed = 11;
    const out = await engine.generate({ segments: [{ text, seconds: 2 }], seed, samples: 4 }, { keepFeatures: true });
    const sampling = model.gpt.sampling;
    const codes = await decodeTokens(model, {
      task: 'text',
      textEmb: await aggregateEmbedding(text, [], encoder),
      duration: 10,
      controls: [],
      past: [[], [], [], []],
      sampling: { temperature: 1, topK: sampling.topK, topP: sampling.topP },
      guidance: sampling.guidance,
      rngs: [0, 1, 2, 3].map((s) => sampleRng(seed, s)),
    });
    const bare = await decodeCodes(model, codes);
    assert.deepEqual(out.features, bare);
    for (const m of out.motions) assert.equal(m.provenance.fit?.candidates, 1);
  } finally {
    await Promise.all([engine.close(), model.close()]);
  }
});

test('N = 4 keeps the best-scoring candidate, candidate 0 is the N = 1 result, and the fit says how sure it is', async () => {
  const engine = await createEngine({ modelDir: LIVE });
  try {
    assert.equal(engine.bestOf, DEFAULT_BEST_OF);
    const threshold = engine.fitThreshold;
    assert.ok(threshold !== null && threshold > 0 && threshold < 1, `threshold ${threshold}`);
    // no side named: a sided request also ranks reflections (intent.test.ts)
    const request = {
      segments: [{ text: 'a person waves with both hands', seconds: 3 }],
      seed: 3,
      samples: 4 as const,
    };
    const one = await engine.generate(request, { bestOf: 1, keepScores: true });
    const four = await engine.generate(request, { bestOf: 4, keepScores: true });
    assert.equal(four.motions.length, 4);
    for (const [s, m] of four.motions.entries()) {
      const scores = four.candidateScores?.[s] ?? [];
      assert.equal(scores.length, 4);
      const fit = m.provenance.fit;
      assert.ok(fit, 'every motion carries its fit');
      assert.equal(fit.candidates, 4);
      assert.equal(fit.threshold, threshold);
      assert.equal(fit.unsure, fit.score < threshold);
      const best = scores.reduce((a, b) => (ranksAbove(b, a) ? b : a));
      assert.equal(fit.score, best.similarity, 'the kept motion is the best ranked candidate');
      const alone = one.candidateScores?.[s]?.[0];
      assert.ok(
        alone && Math.abs(scores[0].similarity - alone.similarity) < 1e-4,
        'candidate 0 is the motion N = 1 gives',
      );
      assert.ok(best.total >= scores[0].total, 're-ranking never keeps a candidate worse than N = 1 would have given');
    }
  } finally {
    await engine.close();
  }
});

test('the threshold is calibrated once per evaluator and data on the test split and cached beside the other derived files', async () => {
  const engine = await createEngine({ modelDir: LIVE, bestOf: 1 });
  try {
    const path = calibrationPath(engine.manifest, defaultDataDir());
    assert.ok(existsSync(path), `${path} was written when the engine first loaded the model`);
    const c = JSON.parse(readFileSync(path, 'utf8')) as FitCalibration;
    assert.equal(c.percentile, FIT_PERCENTILE);
    assert.equal(c.threshold, engine.fitThreshold);
    assert.ok(c.clips >= 20 && c.matched.p50 > c.threshold && c.mismatched.p50 < c.threshold, JSON.stringify(c));
    // A threshold the trainer records in the manifest wins, and needs neither the evaluator nor the data.
    const recorded = { ...engine.manifest, metrics: { ...engine.manifest.metrics, fitThreshold: 0.42 } };
    const found = await fitThreshold({
      manifest: recorded,
      ev: {} as Evaluator,
      encoder: await sharedSentenceEncoder(),
      dataDir: null,
    });
    assert.deepEqual(found, { threshold: 0.42, from: 'manifest' });
  } finally {
    await engine.close();
  }
});
