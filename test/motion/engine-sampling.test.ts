import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  argmax,
  deriveSeed,
  filteredDistribution,
  guidanceMix,
  sampleRng,
  sampleToken,
  validateSamplingOptions,
} from '../../src/motion/engine/sampling.js';

const logits = Float32Array.from([2, 0.5, 1, -1, 1.5]);

function softmax(x: ArrayLike<number>, t = 1): number[] {
  const m = Math.max(...Array.from(x));
  const e = Array.from(x, (v) => Math.exp((v - m) / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function frequencies(opts: Parameters<typeof sampleToken>[1], draws = 20000, seed = 1): number[] {
  const rng = sampleRng(seed, 0);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampleToken(logits, opts, rng)]++;
  return counts.map((c) => c / draws);
}

test('same seed and stream → same tokens; other streams and seeds differ', () => {
  const draw = (seed: number, stream: number): number[] => {
    const rng = sampleRng(seed, stream);
    return Array.from({ length: 50 }, () => sampleToken(logits, { temperature: 1 }, rng));
  };
  assert.deepEqual(draw(3, 0), draw(3, 0));
  assert.notDeepEqual(draw(3, 0), draw(3, 1));
  assert.notDeepEqual(draw(3, 0), draw(4, 0));
  assert.notEqual(deriveSeed(0, 0), deriveSeed(1, 0));
  assert.notEqual(deriveSeed(0, 0), deriveSeed(0, 1));
});

test('sampling follows softmax(logits / T); temperature 0 is argmax', () => {
  for (const t of [1, 0.5]) {
    const want = softmax(logits, t);
    frequencies({ temperature: t }).forEach((f, i) =>
      assert.ok(Math.abs(f - want[i]) < 0.015, `T=${t} token ${i}: ${f} vs ${want[i]}`),
    );
  }
  const rng = sampleRng(0, 0);
  assert.equal(sampleToken(logits, { temperature: 0 }, rng), 0);
  assert.equal(argmax([1, 3, 3, 2]), 1, 'ties keep the first index');
});

test('top-k keeps the k most likely tokens, renormalised', () => {
  const f = frequencies({ temperature: 1, topK: 2 });
  const want = softmax([2, 1.5]);
  assert.ok(Math.abs(f[0] - want[0]) < 0.015 && Math.abs(f[4] - want[1]) < 0.015);
  assert.equal(f[1] + f[2] + f[3], 0);
  const d = filteredDistribution(logits, { temperature: 1, topK: 3 });
  assert.deepEqual(Array.from(d.tokens), [0, 4, 2]);
  assert.ok(Math.abs(d.probs.reduce((a, b) => a + b, 0) - 1) < 1e-12);
});

test('top-p keeps the smallest set reaching p', () => {
  const p = softmax(logits);
  // Sorted: token 0 (p0), 4, 2, 1, 3. p0 + p4 is below 0.75, adding token 2 reaches it.
  assert.ok(p[0] + p[4] < 0.75 && p[0] + p[4] + p[2] >= 0.75);
  assert.deepEqual(Array.from(filteredDistribution(logits, { temperature: 1, topP: 0.75 }).tokens), [0, 4, 2]);
  const f = frequencies({ temperature: 1, topP: 0.75 });
  assert.equal(f[1] + f[3], 0);
  assert.deepEqual(
    Array.from(filteredDistribution(logits, { temperature: 1, topP: 0.01 }).tokens),
    [0],
    'at least one token survives',
  );
});

test('classifier-free guidance mixes u + s·(c − u)', () => {
  const c = [1, 2, 3];
  const u = [1, 1, 0];
  assert.deepEqual(Array.from(guidanceMix(c, u, 1)), c);
  assert.deepEqual(Array.from(guidanceMix(c, u, 0)), u);
  assert.deepEqual(Array.from(guidanceMix(c, u, 2.5)), [1, 3.5, 7.5]);
  assert.throws(() => guidanceMix([1, 2], [1], 2), /2 conditional vs 1 unconditional logits/);
});

test('bad sampling options are refused by name', () => {
  assert.throws(() => validateSamplingOptions({ temperature: -1 }), /temperature must be a number ≥ 0, got -1/);
  assert.throws(() => validateSamplingOptions({ temperature: NaN }), /temperature/);
  assert.throws(
    () => validateSamplingOptions({ temperature: 1, topK: 2.5 }),
    /topK must be a whole number ≥ 0, got 2\.5/,
  );
  assert.throws(() => validateSamplingOptions({ temperature: 1, topP: 0 }), /topP must be in \(0, 1\], got 0/);
  assert.throws(() => validateSamplingOptions({ temperature: 1, topP: 1.5 }), /topP must be in/);
  validateSamplingOptions({ temperature: 0, topK: 0, topP: 1 });
});
