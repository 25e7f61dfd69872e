/**
 * Distribution metrics on evaluator embeddings (text-to-motion evaluation of Guo et al., "Generating
 * Diverse and Natural 3D Human Motions from Text", CVPR 2022 — the HumanML3D/T2M protocol that
 * MotionGPT Table 1 and the targets use). `trainer/metrics.py` implements the same definitions
 * and the same seeded sampling, so the TypeScript and Python evaluations agree.
 */
import { matmul, sqrtSymmetricPsd, symmetricEigen, trace } from './linalg.js';
import { mulberry32, permutation, sampleWithoutReplacement } from './random.js';

/** Row-major N×D embeddings (e.g. an onnxruntime output tensor's data). */
export interface EmbeddingMatrix {
  data: ArrayLike<number>;
  rows: number;
  dim: number;
}

/** Embeddings as a matrix or as a list of equally long vectors. */
export type Embeddings = EmbeddingMatrix | readonly ArrayLike<number>[];

function asMatrix(name: string, e: Embeddings): EmbeddingMatrix {
  if (!Array.isArray(e)) {
    const m = e as EmbeddingMatrix;
    if (!Number.isInteger(m.rows) || !Number.isInteger(m.dim) || m.rows < 0 || m.dim < 1) {
      throw new Error(`${name}: rows and dim must be positive integers, got ${m.rows}×${m.dim}`);
    }
    if (m.data.length !== m.rows * m.dim)
      throw new Error(`${name}: expected ${m.rows}×${m.dim} = ${m.rows * m.dim} values, got ${m.data.length}`);
    checkFinite(name, m);
    return m;
  }
  const list = e as readonly ArrayLike<number>[];
  if (list.length === 0) throw new Error(`${name}: no embeddings`);
  const dim = list[0].length;
  const data = new Float64Array(list.length * dim);
  list.forEach((v, i) => {
    if (v.length !== dim) throw new Error(`${name}: embedding ${i} has ${v.length} values, embedding 0 has ${dim}`);
    for (let d = 0; d < dim; d++) data[i * dim + d] = v[d];
  });
  const m = { data, rows: list.length, dim };
  checkFinite(name, m);
  return m;
}

function checkFinite(name: string, m: EmbeddingMatrix): void {
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i]))
      throw new Error(`${name}: non-finite value at row ${Math.floor(i / m.dim)}, column ${i % m.dim}`);
  }
}

function distance(a: EmbeddingMatrix, i: number, b: EmbeddingMatrix, j: number): number {
  let s = 0;
  for (let d = 0; d < a.dim; d++) {
    const x = a.data[i * a.dim + d] - b.data[j * b.dim + d];
    s += x * x;
  }
  return Math.sqrt(s);
}

function checkSameShape(na: string, a: EmbeddingMatrix, nb: string, b: EmbeddingMatrix): void {
  if (a.dim !== b.dim) throw new Error(`${na} has dimension ${a.dim} but ${nb} has ${b.dim}`);
  if (a.rows !== b.rows)
    throw new Error(`${na} has ${a.rows} rows but ${nb} has ${b.rows}; they must be paired row by row`);
}

export interface GaussianStats {
  mean: Float64Array;
  /** Row-major dim×dim covariance with the N−1 denominator (numpy's np.cov, as T2M uses). */
  cov: Float64Array;
  dim: number;
}

/** Mean and unbiased covariance of a set of embeddings (T2M's calculate_activation_statistics). */
export function activationStatistics(embeddings: Embeddings): GaussianStats {
  const m = asMatrix('activationStatistics embeddings', embeddings);
  if (m.rows < 2) throw new Error(`activationStatistics: needs at least 2 embeddings for a covariance, got ${m.rows}`);
  const { rows: n, dim } = m;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += m.data[i * dim + d] / n;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) centred[d] = m.data[i * dim + d] - mean[d];
    for (let a = 0; a < dim; a++) {
      const ca = centred[a];
      for (let b = a; b < dim; b++) cov[a * dim + b] += ca * centred[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      cov[a * dim + b] /= n - 1;
      cov[b * dim + a] = cov[a * dim + b];
    }
  }
  return { mean, cov, dim };
}

/**
 * Fréchet distance between two Gaussians (Heusel et al. 2017, FID; Dowson & Landau 1982):
 * ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{1/2}). Tr((Σ₁Σ₂)^{1/2}) is computed as Tr((Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}),
 * which has the same eigenvalues but is symmetric, so both roots come from the Jacobi decomposition.
 */
export function frechetDistanceFromStats(a: GaussianStats, b: GaussianStats): number {
  if (a.dim !== b.dim) throw new Error(`frechetDistance: dimensions differ (${a.dim} vs ${b.dim})`);
  const n = a.dim;
  let meanTerm = 0;
  for (let d = 0; d < n; d++) meanTerm += (a.mean[d] - b.mean[d]) ** 2;
  const rootA = sqrtSymmetricPsd(a.cov, n);
  const inner = matmul(matmul(rootA, b.cov, n), rootA, n);
  // Round-off leaves inner a hair away from symmetric; symmetrising keeps the Jacobi check strict for real input.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = (inner[i * n + j] + inner[j * n + i]) / 2;
      inner[i * n + j] = s;
      inner[j * n + i] = s;
    }
  }
  const traceSqrt = symmetricEigen(inner, n).values.reduce((s, l) => s + Math.sqrt(Math.max(l, 0)), 0);
  return meanTerm + trace(a.cov, n) + trace(b.cov, n) - 2 * traceSqrt;
}

/** FID between two sets of embeddings (e.g. generated vs ground-truth motions); T2M's calculate_frechet_distance. */
export function frechetDistance(a: Embeddings, b: Embeddings): number {
  return frechetDistanceFromStats(activationStatistics(a), activationStatistics(b));
}

export interface RPrecisionOptions {
  /** Rows per retrieval batch; 31 mismatched texts compete with the true one (T2M: 32). */
  batchSize?: number;
  /** Largest k reported. Default 3. */
  topK?: number;
  /** Seed of the shuffle that forms the batches. Default 0. */
  seed?: number;
}

export interface RPrecision {
  /** topK[k−1] = fraction of rows whose true partner is among the k nearest (k = 1 … topK). */
  topK: number[];
  /** Rows counted (full batches only, like T2M's drop_last loader). */
  rows: number;
  batches: number;
}

/**
 * R-precision (Guo et al. 2022, T2M `calculate_R_precision`): rows are shuffled with the seed and cut
 * into batches of 32 (an incomplete last batch is dropped, as T2M's loader does); inside a batch the
 * Euclidean distance matrix text × motion is computed and, for each text row, the motions are ranked
 * by distance; top-k counts the rows whose own motion is among the k nearest. Row i of `text` and of
 * `motion` must describe the same sample. Ties keep the lower index (a stable sort, like numpy argsort).
 */
export function rPrecision(text: Embeddings, motion: Embeddings, options: RPrecisionOptions = {}): RPrecision {
  const t = asMatrix('rPrecision text embeddings', text);
  const m = asMatrix('rPrecision motion embeddings', motion);
  checkSameShape('text embeddings', t, 'motion embeddings', m);
  const batchSize = options.batchSize ?? 32;
  const topK = options.topK ?? 3;
  if (!Number.isInteger(batchSize) || batchSize < 2)
    throw new Error(`rPrecision: batchSize must be an integer ≥ 2, got ${batchSize}`);
  if (!Number.isInteger(topK) || topK < 1 || topK > batchSize)
    throw new Error(`rPrecision: topK must be within 1–${batchSize}, got ${topK}`);
  if (t.rows < batchSize)
    throw new Error(`rPrecision: needs at least one full batch of ${batchSize} pairs, got ${t.rows}`);
  const order = permutation(t.rows, mulberry32(options.seed ?? 0));
  const batches = Math.floor(t.rows / batchSize);
  const hits = new Array<number>(topK).fill(0);
  for (let b = 0; b < batches; b++) {
    const idx = order.slice(b * batchSize, (b + 1) * batchSize);
    for (let r = 0; r < batchSize; r++) {
      const d = idx.map((mi) => distance(t, idx[r], m, mi));
      const own = d[r];
      // Rank of the own motion = how many motions are strictly nearer, plus those equally near with a lower index.
      let rank = 0;
      for (let c = 0; c < batchSize; c++) if (d[c] < own || (d[c] === own && c < r)) rank++;
      for (let k = rank; k < topK; k++) hits[k]++;
    }
  }
  const rows = batches * batchSize;
  return { topK: hits.map((h) => h / rows), rows, batches };
}

/**
 * Multimodal distance (MM-Dist, Guo et al. 2022 "matching score"): the mean Euclidean distance between
 * each text embedding and the embedding of its own motion, over all rows (T2M sums the same diagonal
 * over its drop-last batches).
 */
export function mmDist(text: Embeddings, motion: Embeddings): number {
  const t = asMatrix('mmDist text embeddings', text);
  const m = asMatrix('mmDist motion embeddings', motion);
  checkSameShape('text embeddings', t, 'motion embeddings', m);
  if (t.rows === 0) throw new Error('mmDist: no embeddings');
  let sum = 0;
  for (let i = 0; i < t.rows; i++) sum += distance(t, i, m, i);
  return sum / t.rows;
}

/**
 * Diversity (Guo et al. 2022, `calculate_diversity`; ACTOR/Action2Motion): draw two index sets of size
 * `pairs` (300 in T2M) without replacement, seeded, and average the Euclidean distance of the paired
 * embeddings. Needs more embeddings than pairs, as T2M asserts.
 */
export function diversity(embeddings: Embeddings, pairs = 300, seed = 0): number {
  const e = asMatrix('diversity embeddings', embeddings);
  if (!Number.isInteger(pairs) || pairs < 1)
    throw new Error(`diversity: pairs must be a positive integer, got ${pairs}`);
  if (e.rows <= pairs) throw new Error(`diversity: needs more than ${pairs} embeddings, got ${e.rows}`);
  const rand = mulberry32(seed);
  const first = sampleWithoutReplacement(e.rows, pairs, rand);
  const second = sampleWithoutReplacement(e.rows, pairs, rand);
  let sum = 0;
  for (let i = 0; i < pairs; i++) sum += distance(e, first[i], e, second[i]);
  return sum / pairs;
}

/**
 * MultiModality (Guo et al. 2022, `calculate_multimodality`): for each text, several motions generated
 * from it form a group (T2M: 30 per text); draw two index sets of size `pairs` (10 in T2M) within a
 * group, shared by all groups, and average the distances over groups and pairs. Measures how varied the
 * motions for one text are.
 */
export function multimodality(groups: readonly Embeddings[], pairs = 10, seed = 0): number {
  if (groups.length === 0) throw new Error('multimodality: no groups');
  const mats = groups.map((g, i) => asMatrix(`multimodality group ${i}`, g));
  const perGroup = mats[0].rows;
  mats.forEach((g, i) => {
    if (g.rows !== perGroup)
      throw new Error(
        `multimodality: group ${i} has ${g.rows} motions, group 0 has ${perGroup}; all groups need the same count`,
      );
    if (g.dim !== mats[0].dim)
      throw new Error(`multimodality: group ${i} has dimension ${g.dim}, group 0 has ${mats[0].dim}`);
  });
  if (!Number.isInteger(pairs) || pairs < 1)
    throw new Error(`multimodality: pairs must be a positive integer, got ${pairs}`);
  if (perGroup < pairs) throw new Error(`multimodality: needs at least ${pairs} motions per group, got ${perGroup}`);
  const rand = mulberry32(seed);
  const first = sampleWithoutReplacement(perGroup, pairs, rand);
  const second = sampleWithoutReplacement(perGroup, pairs, rand);
  let sum = 0;
  for (const g of mats) for (let i = 0; i < pairs; i++) sum += distance(g, first[i], g, second[i]);
  return sum / (mats.length * pairs);
}
