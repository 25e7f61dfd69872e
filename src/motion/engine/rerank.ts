/**
 * Best-of-N re-ranking. The engine samples N candidates per requested sample in the same GPT batch; this
 * module scores them — the model version's evaluator text–motion cosine (the judge `charades eval` uses)
 * minus a physical-sanity penalty (feet sliding before the clean-up) plus the agreement with what the words ask
 * of the body that the encoder blurs (intent.ts: backwards, sideways, turns, the left or right hand) — and says which candidate each sample
 * keeps and how well it fits: `provenance.fit = { score, candidates, threshold, unsure }`.
 *
 * The confidence threshold is per model: a low percentile of the evaluator cosine of the test split's
 * ground-truth clips with their own texts (fitThreshold below), computed once per model and cached. A kept
 * candidate below it scores lower than 95 % of real motions score against their own words, so the agent can
 * say it is unsure.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ModelManifest } from '../contracts.js';
import { openDataset } from '../dataset.js';
import { FEATURE_DIM, featurize, recoverJoints } from '../features.js';
import { footSkateRatio } from '../metrics/physical.js';
import { mulberry32 } from '../metrics/random.js';
import { NUM_JOINTS } from '../skeleton.js';
import { sha256Hex } from '../hash.js';
import { defaultCacheDir } from '../paths.js';
import { cosine } from '../text/aggregate.js';
import type { SentenceEncoder } from '../text/encoder.js';
import { FOOT_JOINT_CLEARANCE, lowestFootHeight } from '../transforms.js';
import { embedMotions, embedTexts, loadEvaluator, type Evaluator } from './evaluate.js';
import { intentAgreement, type Intent } from './intent.js';
import { deriveSeed, sampleRng, type Rng } from './sampling.js';

export const BEST_OF_ENV = 'CHARADES_BEST_OF';
/**
 * Candidates per requested sample when nothing says otherwise, chosen from the quality/latency curve of
 * `bench/engine.bench.ts --curve-only` (README, "Acting probes" → "Best of N"): on the live model N = 2 and 4
 * pass more acting probes and rank better under an independent evaluator than N = 1, N = 4 fits the request
 * better than 2 by the model's own evaluator, and N = 8 costs half as much time again without passing more probes.
 */
export const DEFAULT_BEST_OF = 4;
/** More candidates than this cost latency the quality curve no longer pays back (and GPT rows grow as samples × N × 2). */
export const MAX_BEST_OF = 16;

/**
 * Physical-sanity penalty per unit of foot-skate ratio, in units of evaluator cosine. Ground truth skates in
 * 0 % of frame pairs at the median and 2.6 % at the 99th percentile (all 3,145 clips, same measure), so a
 * candidate sliding its feet in 10 % of its frames loses 0.1 — as much as a clearly worse text match (the
 * cosine of 8 candidates of one prompt spreads by 0.1–0.5 on the live model). Floor penetration and hovering
 * are not scored: the engine aligns every motion to the floor, which removes penetration, and ground truth
 * "hovers" (no joint within 5 cm of the floor) in 15 % of a walk's frames at the median and 96 % of a crouch's,
 * so hovering cannot tell a bad candidate from real flight or joint-centre heights.
 */
export const SKATE_WEIGHT = 1;

/**
 * Weight of the words' checkable intents (intent.ts: travel backwards or sideways, turn to a side, spin, stay in
 * place, the asked hand or leg), in units of evaluator cosine per unit of agreement in [−1, 1]. The evaluator, like
 * the sentence encoder under it, hardly separates "walk backwards" from "walk" or the left hand from the right, so a
 * candidate that visibly does the opposite (a walk forward) loses 0.2 and one that does it gains 0.2: more than the
 * cosine separates candidates of one prompt at the median, less than a clearly wrong action costs.
 */
export const INTENT_WEIGHT = 0.2;

/** Parses N from text (env or flag); `where` names the source in the error. */
export function parseBestOf(raw: string | number, where: string): number {
  const n = typeof raw === 'number' ? raw : Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_BEST_OF)
    throw new Error(`${where} must be a whole number from 1 to ${MAX_BEST_OF}, got "${raw}"`);
  return n;
}

/** N from CHARADES_BEST_OF in `env` (the CLI reads it through src/config: Config.bestOf), else the measured default. */
export function bestOfFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[BEST_OF_ENV];
  return raw === undefined || raw === '' ? DEFAULT_BEST_OF : parseBestOf(raw, BEST_OF_ENV);
}

/**
 * The random stream of candidate `c` of sample `s`. Candidate 0 is the sample's own stream, so N = 1 is
 * exactly the engine without re-ranking and every N keeps that result among its candidates.
 */
export function candidateRng(seed: number, sample: number, candidate: number): Rng {
  if (candidate === 0) return sampleRng(seed, sample);
  return mulberry32(deriveSeed(deriveSeed(seed, sample), candidate));
}

/** Batch row of candidate `c` of sample `s`: candidate-major, so rows 0 … samples−1 are the N = 1 batch. */
export function candidateRow(sample: number, candidate: number, samples: number): number {
  return candidate * samples + sample;
}

const POSITIONS = NUM_JOINTS * 3;

// ---------------------------------------------------------------- physical sanity

export interface Sanity {
  /** Foot-skate ratio of the decoded motion before the foot clean-up (metrics/physical.ts), floor-aligned as the engine will. */
  skate: number;
  penalty: number;
}

/** Physical sanity of decoded features (frames × 71), on the joints they recover. */
export function physicalSanity(features: Float32Array): Sanity {
  const T = features.length / FEATURE_DIM;
  return T < 2 ? { skate: 0, penalty: 0 } : sanityOfJoints(recoverJoints(features, T), T);
}

/** Physical sanity of recovered joints (T×22×3), which it lifts onto the floor in place as the engine will. */
function sanityOfJoints(joints: Float32Array, T: number): Sanity {
  if (T < 2) return { skate: 0, penalty: 0 };
  const dy = FOOT_JOINT_CLEARANCE - lowestFootHeight(joints, T);
  for (let i = 1; i < joints.length; i += 3) joints[i] += dy;
  const skate = footSkateRatio(joints, T, 20);
  return { skate, penalty: SKATE_WEIGHT * skate };
}

// ---------------------------------------------------------------- scoring

/** A candidate's frames of one segment, in decoded-feature frames: [start, end). */
export interface SegmentWindow {
  start: number;
  end: number;
}

export interface CandidateScore {
  /** Evaluator cosine, mean over the request's segments (each against its own text). */
  similarity: number;
  sanity: Sanity;
  /** Agreement with the words' checkable intents in [−1, 1], mean over the segments that have any (0 when none). */
  intent: number;
  /** What the ranking maximises: similarity − sanity penalty + INTENT_WEIGHT × intent. */
  total: number;
}

export interface Fit {
  score: number;
  candidates: number;
  threshold: number;
  unsure: boolean;
}

export interface Choice {
  /** Batch row of the kept candidate. */
  row: number;
  /** Absent when there is no threshold to judge the score by (none recorded in the manifest and no data to calibrate on). */
  fit?: Fit;
  scores: CandidateScore[];
}

/** The model version's evaluator and its confidence threshold, bound to one engine. */
export interface FitJudge {
  readonly threshold: number | null;
  /**
   * Scores every row and keeps, per sample, the best of its N candidates. `features[row]` holds the
   * decoded features of the new frames; `textEmbeddings[i]` is segment i's aggregated text embedding.
   */
  choose(
    features: readonly Float32Array[],
    windows: readonly SegmentWindow[],
    textEmbeddings: readonly Float32Array[],
    samples: number,
    bestOf: number,
    intents?: readonly (readonly Intent[])[],
  ): Promise<Choice[]>;
  close(): Promise<void>;
}

function windowsOf(features: Float32Array, windows: readonly SegmentWindow[]): Float32Array[] {
  return windows.map((w) => features.subarray(w.start * FEATURE_DIM, w.end * FEATURE_DIM));
}

/** Rows' scores against their segment texts; one evaluator call for every (row, segment) window. */
async function scoreRows(
  ev: Evaluator,
  manifest: ModelManifest,
  features: readonly Float32Array[],
  windows: readonly SegmentWindow[],
  texts: readonly Float32Array[],
  intents: readonly (readonly Intent[])[] = [],
): Promise<CandidateScore[]> {
  // The evaluator embeds windows of at least two frames; a segment is never shorter than one token (4 frames).
  const motion = await embedMotions(
    ev,
    features.flatMap((f) => windowsOf(f, windows)),
    manifest,
  );
  const text = await embedTexts(ev, [...texts]);
  return features.map((f, row) => {
    const cos = windows.map((_, i) => cosine(motion[row * windows.length + i], text[i]));
    const similarity = cos.reduce((a, b) => a + b, 0) / cos.length;
    // one recovery per candidate serves both: the intents are measured relative to each segment's first frame
    const T = f.length / FEATURE_DIM;
    const joints = recoverJoints(f, T);
    const sanity = sanityOfJoints(joints, T);
    const intent = windowsIntent(joints, windows, intents);
    return { similarity, sanity, intent, total: similarity - sanity.penalty + INTENT_WEIGHT * intent };
  });
}

/** Mean agreement of a candidate's segments with their words' intents, each on its own frames of the joints. */
function windowsIntent(
  joints: Float32Array,
  windows: readonly SegmentWindow[],
  intents: readonly (readonly Intent[])[],
): number {
  const scored = windows.flatMap((w, i) => {
    const asked = intents[i] ?? [];
    if (!asked.length) return [];
    return [intentAgreement(joints.subarray(w.start * POSITIONS, w.end * POSITIONS), asked)];
  });
  return scored.length ? scored.reduce((a, b) => a + b, 0) / scored.length : 0;
}

/** Intent agreement (intent.ts, −1…1) from which a candidate clearly does what the words ask. */
export const CLEARLY_DONE = 0.5;

type Ranked = Pick<CandidateScore, 'intent' | 'total'>;

/**
 * Whether candidate `a` ranks above `b`: one that clearly does what the words ask beats one that does not, whatever
 * their evaluator scores (a crouch for "crouch down" scores lower than a confident stand: the evaluator hardly knows
 * floor-level acts); otherwise the higher total. Without intents every candidate's agreement is 0, so the total decides.
 */
export function ranksAbove(a: Ranked, b: Ranked): boolean {
  const clearA = a.intent >= CLEARLY_DONE;
  const clearB = b.intent >= CLEARLY_DONE;
  return clearA === clearB ? a.total > b.total : clearA;
}

function bestCandidate(scores: readonly CandidateScore[], sample: number, samples: number, bestOf: number): number {
  let best = candidateRow(sample, 0, samples);
  for (let c = 1; c < bestOf; c++) {
    const row = candidateRow(sample, c, samples);
    if (ranksAbove(scores[row], scores[best])) best = row;
  }
  return best;
}

export interface FitJudgeOptions {
  encoder: SentenceEncoder;
  /** Motion data to calibrate the threshold on when neither the manifest nor the cache has it. */
  dataDir: string | null;
  cacheDir?: string;
}

/** Loads the version's evaluator and its threshold (calibrated once per model and cached; see fitThreshold). */
export async function createFitJudge(
  manifest: ModelManifest,
  modelDir: string,
  opts: FitJudgeOptions,
): Promise<FitJudge> {
  const { ev } = await loadEvaluator(manifest, modelDir);
  const found = await fitThreshold({
    manifest,
    ev,
    encoder: opts.encoder,
    dataDir: opts.dataDir,
    cacheDir: opts.cacheDir,
  }).catch(async (err: unknown) => {
    await Promise.all([ev.motion.release(), ev.text.release()]);
    throw err;
  });
  const threshold = found?.threshold ?? null;
  // onnxruntime sessions are not re-entrant; concurrent requests take turns.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    threshold,
    choose(features, windows, texts, samples, bestOf, intents) {
      const run = queue.then(async () => {
        const scores = await scoreRows(ev, manifest, features, windows, texts, intents);
        return Array.from({ length: samples }, (_, s): Choice => {
          const row = bestCandidate(scores, s, samples, bestOf);
          const score = scores[row].similarity;
          const fit =
            threshold === null ? undefined : { score, candidates: bestOf, threshold, unsure: score < threshold };
          return { row, ...(fit ? { fit } : {}), scores: scores.filter((_, r) => r % samples === s) };
        });
      });
      queue = run.catch(() => undefined);
      return run;
    },
    close: () => Promise.all([ev.motion.release(), ev.text.release()]).then(() => undefined),
  };
}

/** Whether a model version carries the evaluator graphs re-ranking needs. */
export function hasEvaluator(manifest: ModelManifest, modelDir: string): boolean {
  const m = manifest.onnx.eval_motion;
  const t = manifest.onnx.eval_text;
  return Boolean(m && t && existsSync(join(modelDir, m.file)) && existsSync(join(modelDir, t.file)));
}

// ---------------------------------------------------------------- the per-model confidence threshold

/** The threshold is this percentile of ground truth's cosine with its own text: 95 % of real pairs score above it. */
export const FIT_PERCENTILE = 5;
const CALIBRATION_FORMAT = 'charades-fit-threshold/1';
/** Test clips are scored over at most this many tokens, as `charades eval` generates them. */
const MAX_CLIP_TOKENS = 60;

export interface FitCalibration {
  format: typeof CALIBRATION_FORMAT;
  /** The version it was first calibrated for (any version with the same evaluator shares it). */
  model: string;
  /** sha256 of eval_motion.onnx: a retrained evaluator invalidates the threshold. */
  evaluator: string;
  percentile: number;
  threshold: number;
  clips: number;
  /** Ground-truth test clips with their own first text (raw sentence, as most chat phrasings reach the engine). */
  matched: { p5: number; p10: number; p50: number };
  /** The same clips against another clip's text of a different action: how often an unrelated request would pass. */
  mismatched: { p50: number; p95: number; aboveThreshold: number };
  dataDir: string;
  createdAt: string;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const xs = [...values].sort((a, b) => a - b);
  const at = (p / 100) * (xs.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return xs[lo] + (xs[hi] - xs[lo]) * (at - lo);
}

interface CalibrationInputs {
  ev: Evaluator;
  manifest: ModelManifest;
  encoder: SentenceEncoder;
  dataDir: string;
}

/** Raw-sentence embeddings (k = 0, as aggregateEmbedding gives them) in batches: one call per sentence is ~10× slower. */
async function embedSentences(sentences: readonly string[], encoder: SentenceEncoder): Promise<Float32Array[]> {
  const unique = [...new Set(sentences)];
  const vectors = new Map<string, Float32Array>();
  for (let i = 0; i < unique.length; i += 64) {
    const batch = unique.slice(i, i + 64);
    (await encoder.embed(batch)).forEach((v, k) => vectors.set(batch[k], v));
  }
  return sentences.map((x) => vectors.get(x) as Float32Array);
}

/** Scores the test split's ground truth against its own texts and against other actions' texts. */
export async function calibrateFitThreshold({
  ev,
  manifest,
  encoder,
  dataDir,
}: CalibrationInputs): Promise<FitCalibration> {
  const ds = openDataset(dataDir);
  const clips = ds.records.filter((r) => r.split === 'test' && r.texts.length > 0 && r.num_frames >= 9);
  if (clips.length < 20)
    throw new Error(`fit threshold: ${dataDir} has ${clips.length} usable test clips; at least 20 are needed`);
  const features = clips.map((r) => {
    const tokens = Math.min(MAX_CLIP_TOKENS, Math.floor((r.num_frames - 1) / 4));
    const frames = 4 * tokens + 1;
    return featurize(ds.positions(r).slice(0, frames * POSITIONS), frames);
  });
  const motion = await embedMotions(ev, features, manifest);
  const text = await embedTexts(
    ev,
    await embedSentences(
      clips.map((r) => r.texts[0]),
      encoder,
    ),
  );
  const matched = clips.map((_, i) => cosine(motion[i], text[i]));
  const threshold = percentile(matched, FIT_PERCENTILE);
  // Each clip against the text of the next clip whose action differs (deterministic, no RNG to record).
  const mismatched: number[] = [];
  for (const [i, r] of clips.entries()) {
    for (let k = 1; k < clips.length; k++) {
      const j = (i + k) % clips.length;
      if (clips[j].action_labels[0] !== r.action_labels[0]) {
        mismatched.push(cosine(motion[i], text[j]));
        break;
      }
    }
  }
  return {
    format: CALIBRATION_FORMAT,
    model: manifest.version,
    evaluator: evaluatorKey(manifest),
    percentile: FIT_PERCENTILE,
    threshold,
    clips: clips.length,
    matched: { p5: percentile(matched, 5), p10: percentile(matched, 10), p50: percentile(matched, 50) },
    mismatched: {
      p50: percentile(mismatched, 50),
      p95: percentile(mismatched, 95),
      aboveThreshold: mismatched.filter((x) => x >= threshold).length / Math.max(1, mismatched.length),
    },
    dataDir,
    createdAt: new Date().toISOString(),
  };
}

/** Identity of a data folder's clips (its index), so a changed test split is calibrated again. */
export function dataKey(dataDir: string): string {
  return sha256Hex(readFileSync(join(dataDir, 'index.jsonl'))).slice(0, 12);
}

function evaluatorKey(manifest: ModelManifest): string {
  return manifest.files[manifest.onnx.eval_motion?.file ?? ''] ?? '';
}

/**
 * Where a calibration is kept: the derived-files cache (model folders are hash-verified, so nothing is added to
 * them), keyed by the evaluator's hash and the data's index — a copy of a model under another version name, as
 * training jobs and their tests publish, reuses it.
 */
export function calibrationPath(
  manifest: ModelManifest,
  dataDir: string,
  cacheDir: string = defaultCacheDir(),
): string {
  return join(cacheDir, 'fit-threshold', `${evaluatorKey(manifest).slice(0, 16) || 'none'}-${dataKey(dataDir)}.json`);
}

function readCalibration(path: string, manifest: ModelManifest): FitCalibration | null {
  if (!existsSync(path)) return null;
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as FitCalibration;
    const ok =
      c.format === CALIBRATION_FORMAT &&
      c.evaluator === evaluatorKey(manifest) &&
      typeof c.threshold === 'number' &&
      Number.isFinite(c.threshold);
    return ok ? c : null;
  } catch {
    return null;
  }
}

function writeCalibration(path: string, c: FitCalibration): void {
  mkdirSync(dirname(path), { recursive: true });
  // Written whole then renamed: two engines starting at once never read half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(c, null, 1)}\n`);
  renameSync(tmp, path);
}

export interface ThresholdSource {
  /** A threshold the trainer recorded in the manifest (`metrics.fitThreshold`) wins. */
  manifest: ModelManifest;
  ev: Evaluator;
  encoder: SentenceEncoder;
  /** Motion data with a test split (calibrated on once, then cached); null = only a threshold recorded in the manifest. */
  dataDir: string | null;
  cacheDir?: string;
  /** Recompute even when cached (`charades eval --fit-threshold`). */
  refresh?: boolean;
}

/** The model's threshold: recorded in the manifest, else cached, else calibrated once on the data and cached. */
export async function fitThreshold(
  src: ThresholdSource,
): Promise<{ threshold: number; calibration?: FitCalibration; from: 'manifest' | 'cache' | 'data' } | null> {
  const recorded = src.manifest.metrics.fitThreshold;
  if (typeof recorded === 'number' && Number.isFinite(recorded) && !src.refresh)
    return { threshold: recorded, from: 'manifest' };
  if (!src.dataDir || !existsSync(join(src.dataDir, 'index.jsonl'))) return null;
  const path = calibrationPath(src.manifest, src.dataDir, src.cacheDir);
  const cached = src.refresh ? null : readCalibration(path, src.manifest);
  if (cached) return { threshold: cached.threshold, calibration: cached, from: 'cache' };
  const calibration = await calibrateFitThreshold({
    ev: src.ev,
    manifest: src.manifest,
    encoder: src.encoder,
    dataDir: src.dataDir,
  });
  writeCalibration(path, calibration);
  return { threshold: calibration.threshold, calibration, from: 'data' };
}
