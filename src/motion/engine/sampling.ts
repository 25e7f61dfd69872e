/**
 * Token sampling for the motion GPT: seeded PRNG, temperature, top-k, top-p (nucleus) and classifier-free
 * guidance. Pure functions over Float32Array logits so they are cheap per step (V = 512) and testable alone.
 */
import { mulberry32 } from '../metrics/random.js';

export type Rng = () => number;

export interface SamplingOptions {
  /** Softmax temperature; 0 = greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens (0 or undefined = all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 or undefined = all). */
  topP?: number;
}

/** Mixes a 32-bit seed and a stream number (SplitMix-style) so neighbouring seeds give unrelated streams. */
export function deriveSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The random stream of sample `index` of a request: each sample has its own, so sample 0 of a
 * four-sample request equals the single sample of the same request with the same seed.
 */
export function sampleRng(seed: number, index: number): Rng {
  return mulberry32(deriveSeed(seed, index));
}

/** Classifier-free guidance: u + s·(c − u); s = 1 is the conditional model, s = 0 the unconditional one. */
export function guidanceMix(
  cond: ArrayLike<number>,
  uncond: ArrayLike<number>,
  scale: number,
  out = new Float32Array(cond.length),
): Float32Array {
  if (cond.length !== uncond.length)
    throw new Error(`guidanceMix: ${cond.length} conditional vs ${uncond.length} unconditional logits`);
  for (let i = 0; i < cond.length; i++) out[i] = uncond[i] + scale * (cond[i] - uncond[i]);
  return out;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export function validateSamplingOptions(opts: SamplingOptions): void {
  if (!(Number.isFinite(opts.temperature) && opts.temperature >= 0))
    throw new Error(`temperature must be a number ≥ 0, got ${opts.temperature}`);
  if (opts.topK !== undefined && !(Number.isInteger(opts.topK) && opts.topK >= 0))
    throw new Error(`topK must be a whole number ≥ 0, got ${opts.topK}`);
  if (opts.topP !== undefined && !(opts.topP > 0 && opts.topP <= 1))
    throw new Error(`topP must be in (0, 1], got ${opts.topP}`);
}

/**
 * Probabilities after temperature, top-k and top-p, as (token, probability) pairs in descending order.
 * Ties at the top-k boundary are broken by token index so the result never depends on sort stability.
 */
export function filteredDistribution(
  logits: ArrayLike<number>,
  opts: SamplingOptions,
): { tokens: Int32Array; probs: Float64Array } {
  const n = logits.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const k = opts.topK && opts.topK > 0 ? Math.min(opts.topK, n) : n;
  const maxLogit = logits[order[0]];
  const weights = new Float64Array(k);
  let total = 0;
  for (let r = 0; r < k; r++) {
    const w = Math.exp((logits[order[r]] - maxLogit) / opts.temperature);
    weights[r] = w;
    total += w;
  }
  let keep = k;
  const p = opts.topP ?? 1;
  if (p < 1) {
    let cum = 0;
    for (let r = 0; r < k; r++) {
      cum += weights[r] / total;
      if (cum >= p) {
        keep = r + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let r = 0; r < keep; r++) kept += weights[r];
  const tokens = Int32Array.from(order.slice(0, keep));
  const probs = Float64Array.from(weights.subarray(0, keep), (w) => w / kept);
  return { tokens, probs };
}

/** Draws one token. One `rng()` call per draw (none when greedy), so streams stay aligned across runs. */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
  if (opts.temperature === 0) return argmax(logits);
  const filtered = (opts.topK ?? 0) > 0 || (opts.topP ?? 1) < 1;
  if (!filtered) return sampleFull(logits, opts.temperature, rng());
  const { tokens, probs } = filteredDistribution(logits, opts);
  const u = rng();
  let cum = 0;
  for (let r = 0; r < tokens.length; r++) {
    cum += probs[r];
    if (u < cum) return tokens[r];
  }
  return tokens[tokens.length - 1];
}

/** Plain softmax sampling in token order: no sort, the common case (no top-k / top-p) on every decoding step. */
function sampleFull(logits: ArrayLike<number>, temperature: number, u: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const w = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += w[i] = Math.exp((logits[i] - max) / temperature);
  const target = u * total;
  let cum = 0;
  for (let i = 0; i < w.length; i++) {
    cum += w[i];
    if (target < cum) return i;
  }
  return w.length - 1;
}
