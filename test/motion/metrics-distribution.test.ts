import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activationStatistics,
  diversity,
  frechetDistance,
  frechetDistanceFromStats,
  mmDist,
  mulberry32,
  multimodality,
  permutation,
  rPrecision,
  sqrtSymmetricPsd,
  symmetricEigen,
} from '../../src/motion/metrics/index.js';
import type { GaussianStats } from '../../src/motion/metrics/index.js';

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b} (tol ${tol})`);

/** Standard normal samples from the seeded generator (Box–Muller). */
function normals(n: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const a = 2 * Math.PI * rand();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** n samples of N(mean, cov) as a row-major matrix, drawn through the symmetric square root of cov. */
function gaussianSamples(n: number, mean: number[], cov: number[], seed: number) {
  const dim = mean.length;
  const root = sqrtSymmetricPsd(cov, dim);
  const z = normals(n * dim, seed);
  const data = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      let s = mean[a];
      for (let b = 0; b < dim; b++) s += root[a * dim + b] * z[i * dim + b];
      data[i * dim + a] = s;
    }
  }
  return { data, rows: n, dim };
}

function randomSymmetric(n: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) m[i * n + j] = m[j * n + i] = rand() * 2 - 1;
  return m;
}

test('mulberry32 is the reference generator (first outputs for seed 0, shared with trainer/metrics.py)', () => {
  const r = mulberry32(0);
  const first = [r(), r(), r()].map((x) => Math.round(x * 4294967296));
  assert.deepEqual(first, [1144304738, 1416247, 958946056]);
  assert.deepEqual(permutation(5, mulberry32(42)).sort(), [0, 1, 2, 3, 4]);
});

test('Jacobi finds the eigenvalues of [[2,1],[1,2]] and reconstructs a random symmetric matrix', () => {
  const small = symmetricEigen([2, 1, 1, 2], 2);
  assert.deepEqual([...small.values].map((v) => Math.round(v * 1e12) / 1e12).sort(), [1, 3]);
  const n = 12;
  const m = randomSymmetric(n, 7);
  const { values, vectors } = symmetricEigen(m, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let rec = 0;
      let orth = 0;
      for (let k = 0; k < n; k++) {
        rec += vectors[i * n + k] * values[k] * vectors[j * n + k];
        orth += vectors[k * n + i] * vectors[k * n + j];
      }
      close(rec, m[i * n + j], 1e-10);
      close(orth, i === j ? 1 : 0, 1e-10);
    }
  }
  assert.throws(() => symmetricEigen([1, 2, 3, 4], 2), /not symmetric at \(0, 1\)/);
  assert.throws(() => symmetricEigen([1, 2, 3], 2), /expected 2×2 = 4 values, got 3/);
});

test('FID of a set with itself is 0', () => {
  const a = gaussianSamples(
    500,
    [0, 1, 2, 3, 4, 5],
    Array.from({ length: 36 }, (_, i) => (i % 7 === 0 ? 1 : 0.1)),
    3,
  );
  close(frechetDistance(a, a), 0, 1e-9);
});

test('FID between known Gaussians equals the closed form', () => {
  // Diagonal covariances: ‖μ₁−μ₂‖² + Σ(√σ₁ − √σ₂)².
  const diag = (v: number[]) => {
    const c = new Float64Array(v.length * v.length);
    v.forEach((x, i) => (c[i * v.length + i] = x));
    return c;
  };
  const a: GaussianStats = { mean: Float64Array.from([0, 0, 0]), cov: diag([1, 4, 9]), dim: 3 };
  const b: GaussianStats = { mean: Float64Array.from([1, 2, 2]), cov: diag([4, 1, 9]), dim: 3 };
  close(frechetDistanceFromStats(a, b), 9 + 1 + 1 + 0, 1e-10);
  // Non-commuting 2×2: Tr√(Σ₁Σ₂) = √(Tr(Σ₁Σ₂) + 2√det(Σ₁Σ₂)).
  const s1 = [2, 1, 1, 2];
  const s2 = [3, 0, 0, 1];
  const trProd = 2 * 3 + 2 * 1;
  const detProd = (2 * 2 - 1) * 3;
  const expected = 0.25 + (4 + 4) - 2 * Math.sqrt(trProd + 2 * Math.sqrt(detProd));
  const c = { mean: Float64Array.from([0, 0]), cov: Float64Array.from(s1), dim: 2 };
  const d = { mean: Float64Array.from([0.5, 0]), cov: Float64Array.from(s2), dim: 2 };
  close(frechetDistanceFromStats(c, d), expected, 1e-10);
});

test('FID of samples from two Gaussians approaches the closed form', () => {
  const covA = [1, 0.5, 0, 0.5, 1, 0, 0, 0, 0.5];
  const covB = [2, 0, 0, 0, 0.5, 0.2, 0, 0.2, 1];
  const meanA = [0, 0, 0];
  const meanB = [1, 0, -1];
  const exact = frechetDistanceFromStats(
    { mean: Float64Array.from(meanA), cov: Float64Array.from(covA), dim: 3 },
    { mean: Float64Array.from(meanB), cov: Float64Array.from(covB), dim: 3 },
  );
  const sampled = frechetDistance(gaussianSamples(20000, meanA, covA, 1), gaussianSamples(20000, meanB, covB, 2));
  close(sampled, exact, 0.05 * exact);
  const stats = activationStatistics(gaussianSamples(20000, meanA, covA, 5));
  close(stats.cov[1], 0.5, 0.03);
});

test('FID works in 128 dimensions and matches the closed form for shifted copies', () => {
  const dim = 128;
  const rand = mulberry32(9);
  const rows = Array.from({ length: 400 }, () => Array.from({ length: dim }, () => rand() - 0.5));
  const shifted = rows.map((r) => r.map((x, i) => x + (i === 0 ? 2 : 0)));
  const start = performance.now();
  close(frechetDistance(rows, shifted), 4, 1e-6);
  assert.ok(performance.now() - start < 20_000);
});

test('R-precision of perfectly matched embeddings is 1, of a derangement 0', () => {
  const rand = mulberry32(1);
  const text = Array.from({ length: 70 }, () => Array.from({ length: 16 }, () => rand()));
  const perfect = rPrecision(text, text);
  assert.deepEqual(perfect, { topK: [1, 1, 1], rows: 64, batches: 2 });
  // Each row's motion is the next row's text, so every text's nearest motion belongs to another row.
  const shiftedMotion = text.map((_, i) => text[(i + 1) % text.length]);
  const wrongOnly = rPrecision(text, shiftedMotion, { batchSize: 70, topK: 1 });
  assert.deepEqual(wrongOnly.topK, [0]);
});

test('R-precision ranks motions by Euclidean distance to each text and counts cumulative top-k', () => {
  // One batch of 4 on a line, texts at 0, 10, 20, 30. With motion 0 at 9 every text's own motion is nearest.
  const text = [[0], [10], [20], [30]];
  assert.deepEqual(rPrecision(text, [[9], [10], [20], [30]], { batchSize: 4, topK: 3 }).topK, [1, 1, 1]);
  // Motion 0 at 16: text 0 sees distances 16, 10, 20, 30, so its own motion ranks 2nd; the others stay 1st.
  assert.deepEqual(rPrecision(text, [[16], [10], [20], [30]], { batchSize: 4, topK: 3 }).topK, [0.75, 1, 1]);
});

test('R-precision rejects mismatched or too small inputs', () => {
  const a = [
    [1, 2],
    [3, 4],
  ];
  assert.throws(() => rPrecision(a, a), /needs at least one full batch of 32 pairs, got 2/);
  assert.throws(() => rPrecision(a, [[1, 2]]), /text embeddings has 2 rows but motion embeddings has 1/);
  assert.throws(() => rPrecision(a, [[1], [2]]), /text embeddings has dimension 2 but motion embeddings has 1/);
  assert.throws(() => rPrecision(a, a, { batchSize: 2, topK: 3 }), /topK must be within 1–2/);
  assert.throws(
    () =>
      rPrecision(
        [
          [1, Number.NaN],
          [3, 4],
        ],
        a,
        { batchSize: 2 },
      ),
    /text embeddings: non-finite value at row 0, column 1/,
  );
  assert.throws(() => rPrecision({ data: new Float32Array(5), rows: 2, dim: 3 }, a), /expected 2×3 = 6 values, got 5/);
});

test('MM-Dist of motions offset from their texts by a length-2 vector is 2', () => {
  const text = { data: Float32Array.from([0, 0, 1, 1, 5, -3]), rows: 3, dim: 2 };
  const motion = { data: Float32Array.from([2, 0, 3, 1, 7, -3]), rows: 3, dim: 2 };
  close(mmDist(text, motion), 2, 1e-12);
});

test('Diversity: identical embeddings give 0; unit-spaced simplex points give ≈ 1 − 1/n', () => {
  const same = Array.from({ length: 50 }, () => [1, 2, 3]);
  assert.equal(diversity(same, 10, 0), 0);
  const n = 400;
  const simplex = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, d) => (d === i ? Math.SQRT1_2 : 0)),
  );
  close(diversity(simplex, 300, 0), 1 - 1 / n, 0.02);
  assert.equal(diversity(simplex, 300, 4), diversity(simplex, 300, 4));
  assert.throws(() => diversity(same, 50), /needs more than 50 embeddings, got 50/);
});

test('MultiModality: groups of identical motions give 0, groups of simplex points ≈ 1', () => {
  const still = Array.from({ length: 3 }, (_, g) => Array.from({ length: 12 }, () => [g, 0]));
  assert.equal(multimodality(still, 10, 0), 0);
  const spread = Array.from({ length: 2 }, () =>
    Array.from({ length: 30 }, (_, i) => Array.from({ length: 30 }, (_, d) => (d === i ? Math.SQRT1_2 : 0))),
  );
  const mm = multimodality(spread, 10, 0);
  assert.ok(mm > 0.5 && mm <= 1, `${mm}`);
  assert.throws(() => multimodality([still[0], still[0].slice(1)]), /group 1 has 11 motions, group 0 has 12/);
  assert.throws(() => multimodality([still[0]], 20), /needs at least 20 motions per group, got 12/);
  assert.throws(() => multimodality([]), /no groups/);
});
