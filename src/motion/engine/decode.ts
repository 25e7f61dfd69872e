/**
 * The GPT decoding loop of trainer/ONNX.md on onnxruntime-node: prefill with controls + BOS + past, then
 * one token per call with the key/value cache; classifier-free guidance as paired rows; several samples as
 * more rows of the same batch. Also the VQ encoder/decoder calls around it.
 */
import { SIDES, type SideId } from '../text/side.js';
import * as ort from 'onnxruntime-node';
import { FEATURE_DIM, featurize } from '../features.js';
import { NUM_JOINTS } from '../skeleton.js';
import type { LoadedModel, TaskName } from './model.js';
import { guidanceMix, sampleToken, type Rng, type SamplingOptions } from './sampling.js';

/** Codes of one motion token: one per codebook. */
export type TokenCodes = number[];

export interface Control {
  /** VQ codes of the pose (one per codebook). */
  codes: TokenCodes;
  /** Time index (motion-token units) the pose pins. */
  p: number;
}

export interface DecodeJob {
  task: TaskName;
  /** Aggregated text embedding (textDim); null = unconditional. */
  textEmb: Float32Array | null;
  /** Per sample, a text embedding that replaces `textEmb` for that sample (best-of-N mixes conditionings). */
  sampleTextEmb?: readonly Float32Array[];
  /** The side the request's words name (text/side.ts); fed to models trained with the side signal. */
  side?: SideId;
  /** N: tokens of the whole sequence, past included. */
  duration: number;
  controls: readonly Control[];
  /** Given past per sample (all the same length): m_0 … m_{P-1}. */
  past: readonly (readonly TokenCodes[])[];
  sampling: SamplingOptions;
  /** Guidance scale; 1 = off. */
  guidance: number;
  /** One random stream per sample (its length is the number of samples). */
  rngs: readonly Rng[];
  /** Called after every decoded token. */
  onToken?: () => void;
}

function int64(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return new ort.Tensor('int64', data, dims);
}

/** Decodes N − P new tokens for every sample; returns the new codes per sample, [new][K]. */
export async function decodeTokens(model: LoadedModel, job: DecodeJob): Promise<TokenCodes[][]> {
  const g = model.gpt;
  const K = g.numCodebooks;
  const V = g.vocab;
  const samples = job.rngs.length;
  if (job.past.length !== samples) throw new Error(`decodeTokens: ${job.past.length} pasts for ${samples} samples`);
  const P = job.past[0]?.length ?? 0;
  if (job.past.some((p) => p.length !== P))
    throw new Error('decodeTokens: every sample needs a past of the same length');
  const newTokens = job.duration - P;
  if (newTokens < 1)
    throw new Error(`decodeTokens: duration ${job.duration} leaves no token to generate after a past of ${P}`);
  if (job.duration > g.maxTokens)
    throw new Error(`decodeTokens: ${job.duration} tokens exceed the model's ${g.maxTokens}`);
  if (job.controls.length > g.maxControls)
    throw new Error(`too many pose controls (${job.controls.length}); the model takes at most ${g.maxControls}`);
  const guided = job.guidance !== 1 && job.textEmb !== null;
  const per = guided ? 2 : 1;
  const rows = samples * per;

  // Prefill: [controls…, BOS, m_0 … m_{P-1}] with pos [p…, 0, 1 … P].
  const controls = [...job.controls].sort((a, b) => a.p - b.p);
  const seq = controls.length + 1 + P;
  const tokens = new Array<number>(rows * seq * K);
  const pos = new Array<number>(rows * seq);
  for (let s = 0; s < samples; s++) {
    const prefix: [TokenCodes, number][] = [
      ...controls.map((c): [TokenCodes, number] => [c.codes.map((x) => g.specialTokens.controlOffset + x), c.p]),
      [new Array<number>(K).fill(g.specialTokens.bos), 0],
      ...job.past[s].map((codes, i): [TokenCodes, number] => [codes, i + 1]),
    ];
    for (let r = 0; r < per; r++) {
      const row = s * per + r;
      prefix.forEach(([codes, p], i) => {
        for (let k = 0; k < K; k++) tokens[(row * seq + i) * K + k] = codes[k];
        pos[row * seq + i] = p;
      });
    }
  }
  const textDim = g.textDim;
  const text = new Float32Array(rows * textDim);
  const mask = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    const conditional = job.textEmb !== null && row % per === 0;
    if (job.textEmb) text.set(job.sampleTextEmb?.[Math.floor(row / per)] ?? job.textEmb, row * textDim);
    mask[row] = conditional ? 1 : 0;
  }
  const fixed = {
    text_emb: new ort.Tensor('float32', text, [rows, textDim]),
    text_mask: new ort.Tensor('float32', mask, [rows]),
    task: int64(new Array(rows).fill(g.tasks[job.task]), [rows]),
    duration: int64(new Array(rows).fill(job.duration), [rows]),
    ...(g.sides ? { side: int64(new Array(rows).fill(job.side ?? SIDES.none), [rows]) } : {}),
  };
  let past: ort.Tensor = new ort.Tensor('float32', new Float32Array(0), [g.layers, 2, rows, g.heads, 0, g.headDim]);
  let feedTokens = int64(tokens, [rows, seq, K]);
  let feedPos = int64(pos, [rows, seq]);
  let seqLen = seq;

  const out: TokenCodes[][] = Array.from({ length: samples }, () => []);
  const mixed = new Float32Array(V);
  for (let step = 0; step < newTokens; step++) {
    const result = await model.sessions.gpt.run({ ...fixed, tokens: feedTokens, pos: feedPos, past_key_values: past });
    const logits = result.logits.data as Float32Array;
    past = result.present_key_values;
    const next = new Array<number>(rows * K);
    for (let s = 0; s < samples; s++) {
      const codes: number[] = [];
      for (let k = 0; k < K; k++) {
        const at = (row: number): Float32Array =>
          logits.subarray(((row * seqLen + seqLen - 1) * K + k) * V, ((row * seqLen + seqLen - 1) * K + k + 1) * V);
        const cond = at(s * per);
        const dist = guided ? guidanceMix(cond, at(s * per + 1), job.guidance, mixed) : cond;
        codes.push(sampleToken(dist, job.sampling, job.rngs[s]));
      }
      out[s].push(codes);
      for (let r = 0; r < per; r++) for (let k = 0; k < K; k++) next[(s * per + r) * K + k] = codes[k];
    }
    job.onToken?.();
    feedTokens = int64(next, [rows, 1, K]);
    feedPos = int64(new Array(rows).fill(P + step + 1), [rows, 1]);
    seqLen = 1;
  }
  return out;
}

/** A static pose as the trainer encodes controls: the pose held for 5 frames → 4 feature frames (zero root velocity). */
export function staticPoseFeatures(pose: Float32Array): Float32Array {
  const frames = new Float32Array(5 * NUM_JOINTS * 3);
  for (let t = 0; t < 5; t++) frames.set(pose, t * NUM_JOINTS * 3);
  return featurize(frames, 5);
}

/** VQ codes of raw feature windows: [batch, 4·tokens, 71] → [batch][tokens][K]. */
export async function encodeFeatures(
  model: LoadedModel,
  features: Float32Array,
  batch: number,
): Promise<TokenCodes[][]> {
  const frames = features.length / (batch * FEATURE_DIM);
  if (!Number.isInteger(frames) || frames % 4 !== 0 || frames === 0)
    throw new Error(`encodeFeatures: ${frames} frames per item; need a positive multiple of 4`);
  const result = await model.sessions.vq_encoder.run({
    features: new ort.Tensor('float32', features, [batch, frames, FEATURE_DIM]),
  });
  const codes = result.codes;
  const [b, n, K] = codes.dims as number[];
  const data = codes.data as BigInt64Array;
  return Array.from({ length: b }, (_, i) =>
    Array.from({ length: n }, (_, t) => Array.from({ length: K }, (_, k) => Number(data[(i * n + t) * K + k]))),
  );
}

/** Raw features of codes: [batch][tokens][K] → one Float32Array of [tokens·4, 71] per item. */
export async function decodeCodes(
  model: LoadedModel,
  codes: readonly (readonly TokenCodes[])[],
): Promise<Float32Array[]> {
  const batch = codes.length;
  const n = codes[0].length;
  const K = model.gpt.numCodebooks;
  if (codes.some((c) => c.length !== n)) throw new Error('decodeCodes: every item needs the same number of tokens');
  const flat: number[] = [];
  for (const item of codes) for (const t of item) flat.push(...t.slice(0, K));
  const result = await model.sessions.vq_decoder.run({ codes: int64(flat, [batch, n, K]) });
  const f = result.features;
  const frames = (f.dims as number[])[1];
  const data = f.data as Float32Array;
  return Array.from({ length: batch }, (_, i) => data.slice(i * frames * FEATURE_DIM, (i + 1) * frames * FEATURE_DIM));
}
