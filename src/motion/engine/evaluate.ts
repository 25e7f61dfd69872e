/**
 * `charades eval`: the production path evaluated end to end — this engine generates, the model version's ONNX
 * evaluator embeds, the shared metrics score. Sets: the test split (minus held-out pairs) and the compositional
 * zero-shot pairs. Reported: R-precision top-1/2/3 (GT and generated, k = 4 descriptions and k = 0 raw text;
 * generated both as finished motions and as the decoded features `python -m trainer evaluate` scores — on those
 * the two agree, see test/motion/engine-parity.test.ts), FID, MM-Dist, Diversity, foot-skate ratio, pose-control
 * errors for text only, the model's own following (`pinPoses: false`) and the pinned result, continuation
 * ADE/FDE against a constant-velocity baseline, and the acting-fidelity measures of fidelity.ts (macro, rarest-third,
 * per-pack and held-out-paraphrase R-precision, side accuracy, floor-level acts, the external HDM05 set).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import type { Motion, MotionRef, ModelManifest, PoseRef } from '../contracts.js';
import { LIMITS, makeMotion } from '../contracts.js';
import { openDataset, type ClipRecord, type Dataset } from '../dataset.js';
import { FEATURE_DIM, featurize } from '../features.js';
import {
  diversity,
  displacementError,
  footSkateRatio,
  frechetDistance,
  initialPoseError,
  keyPoseDistance,
  lastPoseError,
  mmDist,
  mulberry32,
  permutation,
  rPrecision,
} from '../metrics/index.js';
import { EXTERNAL_TEST_PACK, REPO_ROOT, SHARED_DATA, defaultTrainingDataDirs, splitDataDirs } from '../paths.js';
import { paraphraseSets, readParaphrases } from '../text/paraphrases.js';
import { setsForClip } from '../text/table.js';
import {
  FLOOR_LEVEL_M,
  groupScores,
  macro,
  measureFloorActs,
  measureSides,
  pelvisMin,
  rarestThird,
  trainingCounts,
  type FidelityReport,
  type FloorClip,
  type RowHit,
} from './fidelity.js';
import { readManifest } from '../registry.js';
import type { SentenceEncoder } from '../text/encoder.js';
import { NUM_JOINTS } from '../skeleton.js';
import { createEngine, type Engine, type EngineOptions } from './engine.js';
import { namesFloorAct } from './intent.js';
import { createSession } from './providers.js';
import { aggregateEmbedding, cosine } from '../text/aggregate.js';
import { sharedSentenceEncoder } from '../text/config.js';

const POS = NUM_JOINTS * 3;
const MAX_TOKENS = 60;
/** Rows per R-precision batch (T2M). */
const R_BATCH = 32;
/** Frames at the controlled end over which pose-control Vel is measured (the controlled token's 4 frames ± 1, as the trainer does). */
const VEL_WINDOW = 5;

export interface EvalOptions {
  engine?: EngineOptions;
  /** Folder with eval_motion.onnx + eval_text.onnx when the model version does not carry them. */
  evaluatorDir?: string;
  /** The packs the test split comes from (default: the training packs, motion + cmu). */
  dataDir?: string | readonly string[];
  /** The external test pack (default ../shared/data/hdm05 when present; null = none). */
  externalDir?: string | null;
  /** Pose controls and continuation on this many test clips spread over the split (0 = every test clip). */
  controlClips?: number;
  /** Seeds per side request and per floor-level act (default 12 and 5, or 3 and 2 with a limit); 0 skips that measure. */
  sideSeeds?: number;
  floorSeeds?: number;
  zeroShotFile?: string;
  /** At most this many clips per set (0 = all). */
  limit?: number;
  seed?: number;
  onProgress?: (msg: string) => void;
}

export interface Evaluator {
  motion: ort.InferenceSession;
  text: ort.InferenceSession;
}

export interface SetMetrics {
  clips: number;
  /** gt: ground truth against the k = 4 text side; gtRawText: against the raw sentence (k = 0). */
  /**
   * k4 / k0: the finished motions (pose pinning, foot clean-up, floor) re-featurised, as users get them;
   * k4Features / k0Features: the same samples' decoded features before post-processing, which is what
   * `python -m trainer evaluate` scores (same weights, same evaluator: the like-for-like comparison).
   */
  rPrecision: {
    gt: number[] | null;
    gtRawText: number[] | null;
    k4: number[] | null;
    k0: number[] | null;
    k4Features: number[] | null;
    k0Features: number[] | null;
    note?: string;
  };
  fid: { k4: number; k0: number };
  mmDist: { gt: number; k4: number; k0: number };
  diversity: { gt: number | null; k4: number | null };
  footSkate: { gt: number; k4: number; k4WithoutCleanup: number };
  perAction: {
    action: string;
    clips: number;
    top3Gt: number;
    top3Gen: number;
    pelvisMinGt: number;
    pelvisMinGenerated: number;
  }[];
  footSkatePerClip: { gt: number[]; k4: number[] };
  /** Each clip inside a full R-precision batch: its label, pack and top-3 hits (what the macro figures average). */
  rows: RowHit[];
}

/**
 * One pose control, global joint positions (root-xz aligned), metres. `controlled` is what the engine delivers
 * (poses pinned, the default); `modelOnly` the same request with `pinPoses: false`, i.e. how well the GPT itself
 * follows its control tokens. `vel` (init / last only): joint-velocity error, m/s, over the 5 frames at the
 * controlled end against the ground truth, which shows whether pinning adds a jerk.
 */
export interface PoseControlEntry {
  textOnly: number;
  controlled: number;
  reduction: number;
  modelOnly: { controlled: number; reduction: number };
  vel?: { textOnly: number; modelOnly: number; controlled: number };
}

export interface PoseControlMetrics {
  clips: number;
  init: PoseControlEntry;
  last: PoseControlEntry;
  keys: PoseControlEntry;
}

export interface EvalReport {
  model: string;
  encoder: string;
  provider: string;
  evaluator: string;
  seed: number;
  sets: { test: SetMetrics; zeroshot: SetMetrics | null; paraphrases: SetMetrics | null; external: SetMetrics | null };
  fidelity: FidelityReport;
  poseControl: PoseControlMetrics;
  continuation: { clips: number; model: { ade: number; fde: number }; constantVelocity: { ade: number; fde: number } };
  /** What the trainer's Python evaluation recorded in the manifest, for side-by-side comparison. */
  python: Record<string, unknown>;
  seconds: number;
}

// ---------------------------------------------------------------- inputs

const PairsSchema = z.object({ pairs: z.array(z.object({ action: z.string(), style: z.string() })).min(1) });

function readPairs(path: string): Set<string> {
  if (!existsSync(path)) throw new Error(`zero-shot pairs file ${path} does not exist`);
  const r = PairsSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!r.success) throw new Error(`${path}: expected {"pairs": [{"action", "style"}, …]}`);
  return new Set(r.data.pairs.map((p) => `${p.action}|${p.style}`));
}

function readDescriptions(dataDir: string): Map<string, string[]> {
  const path = join(dataDir, 'annotations', 'action-gpt-k4.jsonl');
  const out = new Map<string, string[]>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as { texts?: string[]; descriptions?: string[] };
    for (const t of rec.texts ?? []) out.set(t, rec.descriptions ?? []);
  }
  return out;
}

export async function loadEvaluator(
  manifest: ModelManifest,
  modelDir: string,
  evaluatorDir?: string,
): Promise<{ ev: Evaluator; where: string }> {
  const fromManifest = manifest.onnx.eval_motion && manifest.onnx.eval_text;
  const dir = evaluatorDir ? resolve(evaluatorDir) : modelDir;
  const motionFile = join(dir, evaluatorDir || !fromManifest ? 'eval_motion.onnx' : manifest.onnx.eval_motion.file);
  const textFile = join(dir, evaluatorDir || !fromManifest ? 'eval_text.onnx' : manifest.onnx.eval_text.file);
  for (const f of [motionFile, textFile]) {
    if (!existsSync(f))
      throw new Error(
        `no evaluator: ${f} is missing (model ${manifest.version} carries none; pass --evaluator DIR with eval_motion.onnx and eval_text.onnx)`,
      );
  }
  const [motion, text] = await Promise.all([
    createSession(readFileSync(motionFile), motionFile, { providers: ['cpu'], threads: 1 }),
    createSession(readFileSync(textFile), textFile, { providers: ['cpu'], threads: 1 }),
  ]);
  const textDim = text.session.inputMetadata.find((m) => m.name === 'text_embedding');
  const declared = textDim && textDim.isTensor ? textDim.shape[1] : undefined;
  if (typeof declared === 'number' && declared !== manifest.textEncoder.dim) {
    await Promise.all([motion.session.release(), text.session.release()]);
    throw new Error(
      `${textFile}: the evaluator reads ${declared}-d text embeddings, but model ${manifest.version} uses ${manifest.textEncoder.id} (${manifest.textEncoder.dim}-d)`,
    );
  }
  return { ev: { motion: motion.session, text: text.session }, where: dir };
}

// ---------------------------------------------------------------- embeddings

/** Evaluator motion embeddings of raw feature sequences (normalised here with the model's statistics). */
export async function embedMotions(
  ev: Evaluator,
  feats: Float32Array[],
  manifest: ModelManifest,
): Promise<Float32Array[]> {
  const { mean, std } = manifest.features;
  const out: Float32Array[] = [];
  for (let i = 0; i < feats.length; i += 32) {
    const chunk = feats.slice(i, i + 32);
    const frames = Math.max(...chunk.map((f) => f.length / FEATURE_DIM));
    const data = new Float32Array(chunk.length * frames * FEATURE_DIM);
    chunk.forEach((f, b) => {
      for (let k = 0; k < f.length; k++)
        data[b * frames * FEATURE_DIM + k] = (f[k] - mean[k % FEATURE_DIM]) / std[k % FEATURE_DIM];
    });
    const lengths = new ort.Tensor(
      'int64',
      BigInt64Array.from(chunk, (f) => BigInt(f.length / FEATURE_DIM)),
      [chunk.length],
    );
    const r = await ev.motion.run({
      features: new ort.Tensor('float32', data, [chunk.length, frames, FEATURE_DIM]),
      lengths,
    });
    const e = r.embedding;
    const dim = (e.dims as number[])[1];
    for (let b = 0; b < chunk.length; b++) out.push((e.data as Float32Array).slice(b * dim, (b + 1) * dim));
  }
  return out;
}

export async function embedTexts(ev: Evaluator, vecs: Float32Array[]): Promise<Float32Array[]> {
  const dim = vecs[0].length;
  const data = new Float32Array(vecs.length * dim);
  vecs.forEach((v, i) => data.set(v, i * dim));
  const r = await ev.text.run({ text_embedding: new ort.Tensor('float32', data, [vecs.length, dim]) });
  const e = r.embedding;
  const out = (e.dims as number[])[1];
  return vecs.map((_, i) => (e.data as Float32Array).slice(i * out, (i + 1) * out));
}

// ---------------------------------------------------------------- per clip

interface ClipCase {
  record: ClipRecord;
  pack: string;
  text: string;
  descriptions: string[];
  tokens: number;
  /** GT positions of the evaluated window, 4·tokens + 1 frames. */
  gt: Float32Array;
}

function clipCase(ds: Dataset, record: ClipRecord, descriptions: Map<string, string[]>): ClipCase | null {
  const tokens = Math.min(MAX_TOKENS, Math.floor((record.num_frames - 1) / 4));
  // A request is at least LIMITS.minSegmentSeconds long (HDM05 has half-second clips): shorter clips are not evaluated.
  if (tokens < Math.ceil(LIMITS.minSegmentSeconds * 5)) return null;
  const text = record.texts[0];
  if (!text) return null;
  const gt = ds.positions(record).slice(0, (4 * tokens + 1) * POS);
  return { record, pack: ds.packOf(record), text, descriptions: descriptions.get(text) ?? [], tokens, gt };
}

/** Generated motions have 4·tokens frames; features need one more, so the last frame is held. */
function featuresOfMotion(m: Motion): Float32Array {
  const joints = new Float32Array((m.numFrames + 1) * POS);
  joints.set(m.joints);
  joints.set(m.joints.subarray((m.numFrames - 1) * POS), m.numFrames * POS);
  return featurize(joints, m.numFrames + 1);
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
}

function reduction(textOnly: number, controlled: number): number {
  return textOnly > 0 ? 1 - controlled / textOnly : 0;
}

/** Top-3 hit of every row inside the R-precision batches (same shuffle as rPrecision), for per-action bars. */
function rowTop3(text: Float32Array[], motion: Float32Array[], seed: number): boolean[] {
  const hits = new Array<boolean>(text.length).fill(false);
  const order = permutation(text.length, mulberry32(seed));
  const dist = (a: Float32Array, b: Float32Array): number => Math.hypot(...a.map((x, i) => x - b[i]));
  for (let b = 0; b + R_BATCH <= text.length; b += R_BATCH) {
    const idx = order.slice(b, b + R_BATCH);
    for (const r of idx) {
      const own = dist(text[r], motion[r]);
      hits[r] = idx.filter((c) => dist(text[r], motion[c]) < own).length < 3;
    }
  }
  return hits;
}

/** `count` items taken at an even stride over the list (all of them when count is 0 or covers the list). */
function spread<T>(items: readonly T[], count: number): T[] {
  if (count <= 0 || count >= items.length) return [...items];
  return Array.from({ length: count }, (_, k) => items[Math.floor((k * items.length) / count)]);
}

// ---------------------------------------------------------------- acting-fidelity sets

function defaultExternalDir(): string | null {
  const dir = join(SHARED_DATA, EXTERNAL_TEST_PACK);
  return existsSync(join(dir, 'index.jsonl')) ? dir : null;
}

/** Test clips called by one of their held-out paraphrases (never trained on), raw text (k = 0). */
function heldoutParaphraseCases(ds: Dataset, testCases: readonly ClipCase[]): ClipCase[] {
  const file = readParaphrases();
  const table = { paraphraseSets: paraphraseSets(ds.records, file) };
  return testCases.flatMap((c, i) => {
    const heldout = setsForClip(table, c.record).flatMap((set) => set.heldout);
    return heldout.length ? [{ ...c, text: heldout[i % heldout.length], descriptions: [] }] : [];
  });
}

/** Every training-pack clip whose pelvis goes down to floor level: the data's own lie / crawl / crouch acts. */
function floorClips(ds: Dataset, descriptions: Map<string, string[]>): FloorClip[] {
  return ds.records.flatMap((r) => {
    const gtPelvisMin = pelvisMin(ds.positions(r), r.num_frames);
    const text = r.texts[0];
    if (gtPelvisMin > FLOOR_LEVEL_M || !text) return [];
    return [
      {
        record: r,
        text,
        descriptions: descriptions.get(text) ?? [],
        gtPelvisMin,
        seconds: Math.min(12, Math.max(1, (r.num_frames - 1) / 20)),
        saysFloor: namesFloorAct(text),
      },
    ];
  });
}

// ---------------------------------------------------------------- the run

/** Generation flags of one evaluation request (default: k = 4, foot clean-up and pose pinning as the engine does). */
interface GenFlags {
  k4?: boolean;
  footCleanup?: boolean;
  pinPoses?: boolean;
}

/** What every step of a run shares: the engine under test, the evaluator that judges it, the seed. */
interface EvalRun {
  engine: Engine;
  manifest: ModelManifest;
  ev: Evaluator;
  seed: number;
  say: (msg: string) => void;
  /** The text encoder the evaluator's text side is built with (the engine's when given, else the shared one). */
  encoder: () => Promise<SentenceEncoder>;
  /** Continuations refer to their observed past by id; these ids resolve to in-memory GT windows. */
  pasts: Map<string, Motion>;
}

/** One clip's request through the engine, seeded by its index; with the decoded features kept. */
async function generateOne(
  run: EvalRun,
  c: ClipCase,
  i: number,
  extra: Record<string, unknown>,
  flags: GenFlags,
): Promise<{ motion: Motion; features: Float32Array }> {
  const k4 = flags.k4 !== false;
  const segment = {
    text: c.text,
    seconds: c.tokens / 5,
    ...(k4 && c.descriptions.length ? { descriptions: c.descriptions } : {}),
    ...extra,
  };
  const r = await run.engine.generate(
    { segments: [segment], seed: run.seed + i, pinPoses: flags.pinPoses },
    { footCleanup: flags.footCleanup, keepFeatures: true },
  );
  return { motion: r.motions[0], features: (r.features as Float32Array[])[0] };
}

async function gen(
  run: EvalRun,
  c: ClipCase,
  i: number,
  extra: Record<string, unknown> = {},
  flags: GenFlags = {},
): Promise<Motion> {
  return (await generateOne(run, c, i, extra, flags)).motion;
}

/** One set's text-to-motion metrics: R-precision, FID, MM-Dist, Diversity, foot skate, per action. */
async function evaluateSet(run: EvalRun, name: string, set: ClipCase[]): Promise<SetMetrics> {
  const { ev, manifest, seed } = run;
  run.say(`${name}: generating ${set.length} clips (k = 4 and k = 0)`);
  const k4: Motion[] = [];
  const k0: Motion[] = [];
  const k4Raw: Motion[] = [];
  const k4F: Float32Array[] = [];
  const k0F: Float32Array[] = [];
  for (const [i, c] of set.entries()) {
    const a = await generateOne(run, c, i, {}, {});
    const b = await generateOne(run, c, i, {}, { k4: false });
    k4.push(a.motion);
    k4F.push(a.features);
    k0.push(b.motion);
    k0F.push(b.features);
    // Same seed, same codes: only the foot clean-up differs, which measures it.
    k4Raw.push(await gen(run, c, i, {}, { footCleanup: false }));
  }
  const gtFeats = set.map((c) => featurize(c.gt, 4 * c.tokens + 1));
  const [eGt, eK4, eK0, eK4F, eK0F] = await Promise.all([
    embedMotions(ev, gtFeats, manifest),
    embedMotions(ev, k4.map(featuresOfMotion), manifest),
    embedMotions(ev, k0.map(featuresOfMotion), manifest),
    embedMotions(ev, k4F, manifest),
    embedMotions(ev, k0F, manifest),
  ]);
  // The evaluator's text side is the same conditioning the generator got (k = 4 mean of descriptions or the
  // raw sentence), and R-precision is averaged over five batch shuffles, as trainer/evaluate.py does.
  const encoder = await run.encoder();
  const conditioning = async (k4: boolean): Promise<Float32Array[]> =>
    Promise.all(set.map((c) => aggregateEmbedding(c.text, k4 ? c.descriptions : [], encoder)));
  const [eTextK4, eTextK0] = await Promise.all([
    conditioning(true).then((v) => embedTexts(ev, v)),
    conditioning(false).then((v) => embedTexts(ev, v)),
  ]);
  const enough = set.length >= R_BATCH;
  const rp = (text: Float32Array[], m: Float32Array[]): number[] | null => {
    if (!enough) return null;
    const runs = [0, 1, 2, 3, 4].map((s) => rPrecision(text, m, { batchSize: R_BATCH, seed: seed + s }).topK);
    return runs[0].map((_, k) => mean(runs.map((r) => r[k])));
  };
  const div = (m: Float32Array[]): number | null =>
    m.length > 2 ? diversity(m, Math.min(300, m.length - 1), seed) : null;
  const gtTop3 = enough ? rowTop3(eTextK4, eGt, seed) : [];
  const genTop3 = enough ? rowTop3(eTextK4, eK4, seed) : [];
  const actionOf = (c: ClipCase): string => c.record.action_labels[0] ?? '?';
  const actions = [...new Set(set.map(actionOf))].sort();
  const inBatches = new Set(
    enough ? permutation(set.length, mulberry32(seed)).slice(0, Math.floor(set.length / R_BATCH) * R_BATCH) : [],
  );
  const pelvisGt = set.map((c) => pelvisMin(c.gt, 4 * c.tokens + 1));
  const pelvisGen = k4.map((m) => pelvisMin(m.joints, m.numFrames));
  const skateGt = set.map((c) => footSkateRatio(c.gt, 4 * c.tokens + 1, 20));
  const skateK4 = k4.map((m) => footSkateRatio(m.joints, m.numFrames, 20));
  return {
    clips: set.length,
    rPrecision: {
      gt: rp(eTextK4, eGt),
      gtRawText: rp(eTextK0, eGt),
      k4: rp(eTextK4, eK4),
      k0: rp(eTextK0, eK0),
      k4Features: rp(eTextK4, eK4F),
      k0Features: rp(eTextK0, eK0F),
      ...(enough ? {} : { note: `fewer than ${R_BATCH} clips: no full R-precision batch` }),
    },
    fid: { k4: frechetDistance(eK4, eGt), k0: frechetDistance(eK0, eGt) },
    mmDist: { gt: mmDist(eTextK4, eGt), k4: mmDist(eTextK4, eK4), k0: mmDist(eTextK0, eK0) },
    diversity: { gt: div(eGt), k4: div(eK4) },
    footSkate: {
      gt: mean(skateGt),
      k4: mean(skateK4),
      k4WithoutCleanup: mean(k4Raw.map((m) => footSkateRatio(m.joints, m.numFrames, 20))),
    },
    perAction: actions.map((action) => {
      const all = set.map((c, i) => i).filter((i) => actionOf(set[i]) === action);
      const rows = all.filter((i) => inBatches.has(i));
      return {
        action,
        clips: rows.length,
        top3Gt: mean(rows.map((i) => (gtTop3[i] ? 1 : 0))),
        top3Gen: mean(rows.map((i) => (genTop3[i] ? 1 : 0))),
        pelvisMinGt: mean(all.map((i) => pelvisGt[i])),
        pelvisMinGenerated: mean(all.map((i) => pelvisGen[i])),
      };
    }),
    footSkatePerClip: { gt: skateGt, k4: skateK4 },
    rows: set.flatMap((c, i) =>
      inBatches.has(i) ? [{ action: actionOf(c), pack: c.pack, gt: gtTop3[i], generated: genTop3[i] }] : [],
    ),
  };
}

interface EvaluatedSets {
  test: SetMetrics;
  zeroshot: SetMetrics | null;
  paraphrases: SetMetrics | null;
  /** Test clips asked for by a held-out paraphrase. */
  paraphraseClips: number;
  external: SetMetrics | null;
  externalPack: string | null;
}

/** The sets, in order: test split, zero-shot pairs, held-out paraphrases, the external pack. */
async function evaluateSets(
  run: EvalRun,
  ds: Dataset,
  testCases: ClipCase[],
  zeroCases: ClipCase[],
  externalDir: string | null,
  take: <T>(rs: readonly T[]) => T[],
): Promise<EvaluatedSets> {
  const test = await evaluateSet(run, 'test', testCases);
  const zeroshot = zeroCases.length ? await evaluateSet(run, 'zero-shot pairs', zeroCases) : null;
  const paraCases = heldoutParaphraseCases(ds, testCases);
  const paraphrases = paraCases.length ? await evaluateSet(run, 'held-out paraphrases', paraCases) : null;
  const extDs = externalDir ? openDataset(externalDir) : null;
  const extCases = extDs
    ? take(extDs.records)
        .map((r) => clipCase(extDs, r, new Map()))
        .filter((c): c is ClipCase => c !== null)
    : [];
  const external = extCases.length ? await evaluateSet(run, `external ${extDs?.packs[0].name}`, extCases) : null;
  return {
    test,
    zeroshot,
    paraphrases,
    paraphraseClips: paraCases.length,
    external,
    externalPack: extDs ? extDs.packs[0].name : null,
  };
}

/** Acting fidelity from the sets' rows, plus side accuracy and floor-level acts generated here. */
async function evaluateFidelity(
  run: EvalRun,
  ds: Dataset,
  sets: EvaluatedSets,
  floor: { clips: () => FloorClip[]; seeds: number },
  sideSeeds: number,
): Promise<FidelityReport> {
  const { test, paraphrases, external } = sets;
  run.say('side accuracy and floor-level acts');
  const sides = await measureSides(run.engine, sideSeeds);
  const floorActs = await measureFloorActs(run.engine, floor.clips(), floor.seeds);
  const perAction = groupScores(test.rows, (r) => r.action);
  const top3 = (v: number[] | null | undefined): number | null => (v && v.length >= 3 ? v[2] : null);
  const paraGt = top3(paraphrases?.rPrecision.gt);
  const paraGen = top3(paraphrases?.rPrecision.k0);
  return {
    macro: macro(perAction),
    rarestThird: rarestThird(
      perAction,
      trainingCounts(ds.records, (r) => r.action_labels[0] ?? '?'),
    ),
    perPack: groupScores(test.rows, (r) => r.pack),
    perAction,
    paraphrases: {
      clips: sets.paraphraseClips,
      gt: paraGt,
      generated: paraGen,
      ratio: paraGt && paraGen !== null ? paraGen / paraGt : null,
    },
    sides,
    floor: floorActs,
    external:
      external && sets.externalPack !== null
        ? {
            pack: sets.externalPack,
            clips: external.clips,
            rPrecisionTop3: { gt: top3(external.rPrecision.gt), generated: top3(external.rPrecision.k4) },
            perClass: external.perAction.map((a) => ({
              name: a.action,
              clips: a.clips,
              gt: a.top3Gt,
              generated: a.top3Gen,
              pelvisMinGt: a.pelvisMinGt,
              pelvisMinGenerated: a.pelvisMinGenerated,
            })),
          }
        : null,
  };
}

/** Pose controls (initial, last, key poses): text only, the model alone (`pinPoses: false`) and pinned. */
async function evaluatePoseControls(run: EvalRun, controlCases: ClipCase[]): Promise<PoseControlMetrics> {
  run.say(`pose controls: ${controlCases.length} clips × 3 controls`);
  const pose = (joints: Float32Array, t: number): PoseRef => ({
    kind: 'joints',
    joints: Array.from(joints.subarray(t * POS, (t + 1) * POS)),
    label: 'ground truth',
  });
  // Per control: [text only, model only (pinPoses false), delivered (pinned)] errors per clip.
  const errs = { init: [[], [], []] as number[][], last: [[], [], []] as number[][], keys: [[], [], []] as number[][] };
  const vels = { init: [[], [], []] as number[][], last: [[], [], []] as number[][] };
  for (const [i, c] of controlCases.entries()) {
    const T = 4 * c.tokens;
    const baseline = await gen(run, c, i);
    const W = Math.min(VEL_WINDOW, T);
    const keyFrames = [Math.floor(T / 3), Math.floor((2 * T) / 3)];
    const keys = new Float32Array(keyFrames.length * POS);
    keyFrames.forEach((f, k) => keys.set(c.gt.subarray(f * POS, (f + 1) * POS), k * POS));
    const controls = {
      init: { init: pose(c.gt, 0) },
      last: { last: pose(c.gt, T - 1) },
      keys: { keys: keyFrames.map((f, k) => ({ at: f / 20, pose: pose(keys, k) })) },
    };
    const scoreInit = (m: Motion, row: number): void => {
      errs.init[row].push(initialPoseError(m.joints, m.numFrames, c.gt.subarray(0, POS), 1, 20).recon);
      if (W > 1) vels.init[row].push(initialPoseError(m.joints, m.numFrames, c.gt.subarray(0, W * POS), W, 20).vel);
    };
    const scoreLast = (m: Motion, row: number): void => {
      errs.last[row].push(lastPoseError(m.joints, m.numFrames, c.gt.subarray((T - 1) * POS, T * POS), 1, 20).recon);
      if (W > 1)
        vels.last[row].push(lastPoseError(m.joints, m.numFrames, c.gt.subarray((T - W) * POS, T * POS), W, 20).vel);
    };
    const scoreKeys = (m: Motion, row: number): void => {
      errs.keys[row].push(keyPoseDistance(m.joints, m.numFrames, keys, keyFrames.length));
    };
    scoreInit(baseline, 0);
    scoreLast(baseline, 0);
    scoreKeys(baseline, 0);
    for (const [row, pinPoses] of [
      [1, false],
      [2, true],
    ] as const) {
      scoreInit(await gen(run, c, i, { control: controls.init }, { pinPoses }), row);
      scoreLast(await gen(run, c, i, { control: controls.last }, { pinPoses }), row);
      scoreKeys(await gen(run, c, i, { control: controls.keys }, { pinPoses }), row);
    }
  }
  const pc = (e: number[][], v?: number[][]): PoseControlEntry => ({
    textOnly: mean(e[0]),
    controlled: mean(e[2]),
    reduction: reduction(mean(e[0]), mean(e[2])),
    modelOnly: { controlled: mean(e[1]), reduction: reduction(mean(e[0]), mean(e[1])) },
    ...(v ? { vel: { textOnly: mean(v[0]), modelOnly: mean(v[1]), controlled: mean(v[2]) } } : {}),
  });
  return {
    clips: controlCases.length,
    init: pc(errs.init, vels.init),
    last: pc(errs.last, vels.last),
    keys: pc(errs.keys),
  };
}

/** Continuation: observe the first half of each clip, predict the second; ADE / FDE against constant velocity. */
async function evaluateContinuation(run: EvalRun, controlCases: ClipCase[]): Promise<EvalReport['continuation']> {
  run.say('continuation: observe the first half, predict the second');
  const cont = { model: [] as { ade: number; fde: number }[], cv: [] as { ade: number; fde: number }[] };
  for (const [i, c] of controlCases.entries()) {
    if (c.tokens < 4) continue;
    const observed = Math.floor(c.tokens / 2);
    const obsFrames = 4 * observed + 1;
    const id = `eval-past-${i}`;
    run.pasts.set(id, makeMotion({ fps: 20, numFrames: obsFrames, joints: c.gt.slice(0, obsFrames * POS) }));
    const m = (
      await run.engine.generate({
        segments: [{ text: c.text, seconds: (c.tokens - observed) / 5, control: { continueFrom: { id } } }],
        seed: run.seed + i,
      })
    ).motions[0];
    // The continuation's frame 0 re-shows the last observed frame; the horizon is what follows it.
    const horizon = Math.min(m.numFrames - 1, 4 * c.tokens + 1 - obsFrames);
    if (horizon < 1) continue;
    const ref = c.gt.slice(obsFrames * POS, (obsFrames + horizon) * POS);
    cont.model.push(displacementError(m.joints.slice(POS, (1 + horizon) * POS), ref, horizon));
    const cv = new Float32Array(horizon * POS);
    const last = c.gt.subarray((obsFrames - 1) * POS, obsFrames * POS);
    const prev = c.gt.subarray((obsFrames - 2) * POS, (obsFrames - 1) * POS);
    for (let t = 0; t < horizon; t++)
      for (let k = 0; k < POS; k++) cv[t * POS + k] = last[k] + (t + 1) * (last[k] - prev[k]);
    cont.cv.push(displacementError(cv, ref, horizon));
  }
  const avg = (xs: { ade: number; fde: number }[]): { ade: number; fde: number } => ({
    ade: mean(xs.map((x) => x.ade)),
    fde: mean(xs.map((x) => x.fde)),
  });
  return { clips: cont.model.length, model: avg(cont.model), constantVelocity: avg(cont.cv) };
}

/**
 * The whole production-path evaluation: the sets (evaluateSets), acting fidelity (evaluateFidelity), pose controls
 * (evaluatePoseControls) and continuation (evaluateContinuation), in that order, through one engine and evaluator.
 */
export async function evaluateProductionPath(opts: EvalOptions = {}): Promise<EvalReport> {
  const started = performance.now();
  const say = opts.onProgress ?? (() => undefined);
  const dataDirs = (
    opts.dataDir === undefined
      ? defaultTrainingDataDirs()
      : typeof opts.dataDir === 'string'
        ? splitDataDirs(opts.dataDir)
        : [...opts.dataDir]
  ).map((d) => resolve(d));
  const ds = openDataset(dataDirs);
  const pairs = readPairs(opts.zeroShotFile ?? join(REPO_ROOT, 'trainer', 'zeroshot_pairs.json'));
  const descriptions = readDescriptions(dataDirs[0]);
  const held = (r: ClipRecord): boolean => pairs.has(`${r.action_labels[0]}|${r.style}`);
  const limit = opts.limit ?? 0;
  const take = <T>(rs: readonly T[]): T[] => (limit > 0 ? rs.slice(0, limit) : [...rs]);
  const cases = (rs: ClipRecord[]): ClipCase[] =>
    rs.map((r) => clipCase(ds, r, descriptions)).filter((c): c is ClipCase => c !== null);
  const testCases = cases(take(ds.records.filter((r) => r.split === 'test' && !held(r))));
  const zeroCases = cases(take(ds.records.filter(held)));

  const pasts = new Map<string, Motion>();
  const resolveMotion = (ref: MotionRef): Motion => {
    const m = 'id' in ref ? pasts.get(ref.id) : undefined;
    if (!m) throw new Error(`eval: unknown motion reference ${JSON.stringify(ref)}`);
    return m;
  };
  // One candidate per sample unless asked: with best-of-N the evaluator that scores the run would also have picked
  // the samples, which flatters every evaluator metric.
  const engine: Engine = await createEngine({ bestOf: 1, ...opts.engine, resolveMotion });
  try {
    const manifest = engine.manifest;
    const { ev, where } = await loadEvaluator(manifest, engine.modelDir, opts.evaluatorDir);
    const seed = opts.seed ?? 0;
    const run: EvalRun = {
      engine,
      manifest,
      ev,
      seed,
      say,
      pasts,
      encoder: async () => opts.engine?.encoder ?? (await sharedSentenceEncoder()),
    };

    const externalDir = opts.externalDir === undefined ? defaultExternalDir() : opts.externalDir;
    const sets = await evaluateSets(run, ds, testCases, zeroCases, externalDir, take);
    // A --limit run is a quick look: fewer seeds too.
    const fidelity = await evaluateFidelity(
      run,
      ds,
      sets,
      { clips: () => take(floorClips(ds, descriptions)), seeds: opts.floorSeeds ?? (limit > 0 ? 2 : 5) },
      opts.sideSeeds ?? (limit > 0 ? 3 : 12),
    );
    // Given poses are validated against the SMPL proportions of the rest skeleton; CMU's root sits 0.10 m above its
    // hips (pelvis → hip 0.15 m, see its README), so pose controls and continuation use the clips with that skeleton.
    const controlCases = spread(
      testCases.filter((c) => ds.hasRotations(c.record)),
      opts.controlClips ?? 0,
    );
    const poseControl = await evaluatePoseControls(run, controlCases);
    const continuation = await evaluateContinuation(run, controlCases);

    await Promise.all([ev.motion.release(), ev.text.release()]);
    return {
      model: engine.version,
      encoder: engine.encoderId,
      provider: engine.provider,
      evaluator: where,
      seed,
      sets: { test: sets.test, zeroshot: sets.zeroshot, paraphrases: sets.paraphrases, external: sets.external },
      fidelity,
      poseControl,
      continuation,
      python: manifest.metrics,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await engine.close();
  }
}

// ---------------------------------------------------------------- single clips (community reports)

/** Text–motion similarity of single generated clips under a model version's ONNX evaluator. */
export interface MotionTextScorer {
  readonly version: string;
  /** Cosine between the evaluator's motion embedding and its text embedding (k = 4 mean when descriptions are given). */
  similarity(motion: Motion, text: string, descriptions?: readonly string[]): Promise<number>;
  close(): Promise<void>;
}

export async function createMotionTextScorer(
  modelDir: string,
  opts: { evaluatorDir?: string; encoder?: SentenceEncoder } = {},
): Promise<MotionTextScorer> {
  const manifest = readManifest(modelDir);
  const { ev } = await loadEvaluator(manifest, modelDir, opts.evaluatorDir);
  const encoder = opts.encoder ?? (await sharedSentenceEncoder());
  let queue: Promise<unknown> = Promise.resolve();
  return {
    version: manifest.version,
    similarity(motion, text, descriptions = []) {
      // onnxruntime sessions are not re-entrant; calls take turns.
      const run = queue.then(async () => {
        if (motion.numFrames < 2) throw new Error('the evaluator needs a motion of at least 2 frames');
        const [m] = await embedMotions(ev, [featuresOfMotion(motion)], manifest);
        const [t] = await embedTexts(ev, [await aggregateEmbedding(text, [...descriptions], encoder)]);
        return cosine(m, t);
      });
      queue = run.catch(() => undefined);
      return run;
    },
    close: () => Promise.all([ev.motion.release(), ev.text.release()]).then(() => undefined),
  };
}
