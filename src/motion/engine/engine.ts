/**
 * The inference engine: a MotionRequest in, Motions out, on one model version. It plans every segment
 * (text embedding, duration, pose controls, past), runs the GPT for all samples in one batch, decodes every
 * segment's codes in one VQ-decoder call, and post-processes into finished Motions with provenance.
 *
 * Hot swap: an Engine is bound to one version. Create a new Engine for a new version and `close()` the old
 * one; close waits for requests already running on it, so they finish on the old weights.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  parseMotionRequest,
  type Motion,
  type MotionRef,
  type MotionRequest,
  type MotionRequestInput,
  type ModelManifest,
  type NamedPose,
  type PoseRef,
  type RequestSegment,
} from '../contracts.js';
import { activeConfig } from '../../config/active.js';
import { FEATURE_DIM, featurize, headingAngles, mirrorFeatures, recoverJoints } from '../features.js';
import { defaultDataDir, defaultModelsDir } from '../paths.js';
import { liveVersion } from '../registry.js';
import { NUM_JOINTS } from '../skeleton.js';
import { aggregateEmbedding, meanVector } from '../text/aggregate.js';
import type { SentenceEncoder } from '../text/encoder.js';
import { textSide } from '../text/side.js';
import { sharedSentenceEncoder } from '../text/config.js';
import { resampleMotion } from '../transforms.js';
import {
  decodeCodes,
  decodeTokens,
  encodeFeatures,
  staticPoseFeatures,
  type Control,
  type TokenCodes,
} from './decode.js';
import { loadModel, type LoadedModel, type TaskName } from './model.js';
import { pinPoses, type Pin } from './pin.js';
import { finishMotion } from './postprocess.js';
import { fileMotionResolver, resolvePoseRef, type MotionResolver, type Pose } from './poses.js';
import { parseExecutionProviders, type ExecutionProvider, type ProviderLog } from './providers.js';
import {
  CLEARLY_DONE,
  DEFAULT_BEST_OF,
  candidateRng,
  candidateRow,
  createFitJudge,
  hasEvaluator,
  parseBestOf,
  ranksAbove,
  type CandidateScore,
  type Choice,
  type Fit,
  type FitJudge,
} from './rerank.js';
import { floorPostures, parseIntents, type Intent } from './intent.js';
import { validateSamplingOptions, type Rng, type SamplingOptions } from './sampling.js';

/** 20 fps / 4 frames per token. */
export const TOKENS_PER_SECOND = 5;
const FRAMES_PER_TOKEN = 4;
const FPS_OUT = TOKENS_PER_SECOND * FRAMES_PER_TOKEN;

export interface EngineOptions {
  /** Model registry (default CHARADES_MODELS or models/). */
  modelsDir?: string;
  /** Version folder name inside modelsDir (default: the registry's LIVE version). */
  version?: string;
  /** A model folder outside any registry (tests, `--model DIR`); wins over modelsDir/version. */
  modelDir?: string;
  /** Text encoder (default: the configured one, shared per process). */
  encoder?: SentenceEncoder;
  providers?: readonly ExecutionProvider[];
  /** onnxruntime intra-op threads (default the configured CHARADES_ORT_THREADS, else 1: small graphs on a shared 2-core host). */
  threads?: number;
  log?: ProviderLog;
  /** Where named poses come from (null = joint angles only; default: the shared data when present). */
  dataDir?: string | null;
  /** Finds motions that `continueFrom` and `frame` poses refer to (default: file paths only). */
  resolveMotion?: MotionResolver;
  /** Sampling overrides (default: the manifest's). */
  topK?: number;
  topP?: number;
  /**
   * Best of N: candidates sampled per requested sample (in the same batch) and re-ranked by the version's
   * evaluator and physical sanity (rerank.ts). Default CHARADES_BEST_OF, else the measured default; 1 = off.
   * Versions without an evaluator always use 1.
   */
  bestOf?: number;
  /**
   * Looks at most (default 3; 1 = off): when the kept candidate does not clearly do what the words ask (intent.ts),
   * best of N samples fresh candidates with a stronger guidance and keeps the best ranked of all.
   */
  looks?: number;
}

export interface GenerateProgress {
  stage: 'prepare' | 'decode' | 'finish';
  /** Motion tokens decoded so far, over all segments. */
  tokens: number;
  totalTokens: number;
  /** 0…1 over the whole request. */
  fraction: number;
}

export interface GenerateOptions {
  onProgress?: (p: GenerateProgress) => void;
  /** Lock planted feet (default true); off only to measure what the clean-up does. */
  footCleanup?: boolean;
  /** Also return each sample's decoded model features (the evaluation compares them with the trainer's). */
  keepFeatures?: boolean;
  /** Candidates per sample for this call (default: the engine's `bestOf`). */
  bestOf?: number;
  /** Looks at most for this call (default: the engine's `looks`). */
  looks?: number;
  /** Also return every candidate's scores (benchmarks and tests look at the spread). */
  keepScores?: boolean;
}

export interface GenerateResult {
  motions: Motion[];
  /**
   * With `keepFeatures`: per sample, the de-normalised features the VQ decoder produced for the new frames
   * (4 per token, 71 each), before any post-processing; what `python -m trainer evaluate` scores.
   */
  features?: Float32Array[];
  /** With `keepScores`: per sample, the scores of its N candidates (candidate 0 first). */
  candidateScores?: CandidateScore[][];
}

export interface Engine {
  readonly version: string;
  /** The model version folder the engine loaded. */
  readonly modelDir: string;
  readonly manifest: ModelManifest;
  /** Execution provider of the GPT graph (the one that matters for latency). */
  readonly provider: ExecutionProvider;
  readonly encoderId: string;
  /** Candidates per sample by default (1 when the version has no evaluator). */
  readonly bestOf: number;
  /** Looks at most per request by default (EngineOptions.looks). */
  readonly looks: number;
  /** The version's confidence threshold on the evaluator cosine; null without an evaluator or calibration data. */
  readonly fitThreshold: number | null;
  generate(request: MotionRequestInput | MotionRequest, opts?: GenerateOptions): Promise<GenerateResult>;
  /** Resolves after every request in flight has finished; later calls to generate are refused. */
  close(): Promise<void>;
}

const silentLog: ProviderLog = { info: () => undefined, warn: () => undefined };

function resolveModelDir(opts: EngineOptions): string {
  if (opts.modelDir) return resolve(opts.modelDir);
  const registry = resolve(opts.modelsDir ?? defaultModelsDir());
  const version = opts.version ?? liveVersion(registry);
  if (!version)
    throw new Error(
      `no live model in ${registry} (models/LIVE is missing); publish a version or pass a version / --model DIR`,
    );
  const dir = join(registry, version);
  if (!existsSync(dir)) throw new Error(`model version "${version}" is not in ${registry}`);
  return dir;
}

/** onnxruntime intra-op threads: the configured CHARADES_ORT_THREADS (validated by src/config), else 1. */
function defaultThreads(): number {
  return activeConfig()?.ortThreads ?? 1;
}

// ---------------------------------------------------------------- planning

interface PlannedControl {
  pose: Pose;
  /** Token index inside the segment's new tokens (0 = first new token). */
  at: number;
  /** Frame inside the segment that must show the pose when pinning. */
  frame: number;
  /** Whether the pose's own facing was asked for (see Pin.facing). */
  facing: 'motion' | 'pose';
  /** Frames the pin fades over on each side (Pin.falloffFrames; default: the pin's own default). */
  falloffFrames?: number;
  /** Frame inside the segment up to which the pose is held (Pin.holdUntil). */
  holdUntilFrame?: number;
}

/** A named pose faces +Z only by convention; a frame of a motion or an uploaded pose faces where it was. */
function facingOf(ref: PoseRef): PlannedControl['facing'] {
  return ref.kind === 'named' ? 'motion' : 'pose';
}

interface SegmentPlan {
  segment: RequestSegment;
  newTokens: number;
  controls: PlannedControl[];
}

function tokensFor(seconds: number, maxTokens: number): number {
  return Math.min(maxTokens, Math.max(1, Math.round(seconds * TOKENS_PER_SECOND)));
}

/**
 * Per segment, its training task and how many past tokens it sees: the tokens before it (the motion it continues,
 * the earlier segments) as far as the model's window allows. The same for every look of a request.
 */
function segmentSteps(plans: readonly SegmentPlan[], given: number, g: LoadedModel['gpt']): SegmentStep[] {
  let before = given;
  return plans.map((plan) => {
    const past = Math.min(g.maxPastTokens, before, g.maxTokens - plan.newTokens);
    before += plan.newTokens;
    return { task: taskFor(plan, past), past };
  });
}

interface SegmentStep {
  task: TaskName;
  past: number;
}

/** Which training task matches the controls (trainer/ONNX.md: any mix of poses is `key_poses`). */
function taskFor(plan: SegmentPlan, pastTokens: number): TaskName {
  if (pastTokens > 0) return 'continue';
  const kinds = new Set(plan.controls.map((c) => (c.at === 0 ? 'init' : c.at === plan.newTokens - 1 ? 'last' : 'key')));
  if (plan.controls.length === 0) return 'text';
  if (plan.controls.length === 1 && kinds.has('init')) return 'init_pose';
  if (plan.controls.length === 1 && kinds.has('last')) return 'last_pose';
  return 'key_poses';
}

// ---------------------------------------------------------------- looks

/**
 * Guidance of each look, relative to the model's scale. A first look whose kept candidate does not clearly do what
 * the words ask (lie down, kick with the left leg, walk backwards) is usually the model drifting to the head of its
 * data (standing, a walk); fresh candidates that follow the text more strongly find the act more often. Measured on
 * the live model, the data's crouch texts, 12 seeds: guidance 2.5 crouched in 1 seed, 4 in 5, 6 in 10 — while 6
 * alone loses lying and getting up, hence a ladder of looks rather than one stronger scale.
 */
const LOOK_GUIDANCE = [1, 1.6, 2.4] as const;
/** Default number of looks; 1 is plain best of N. */
export const DEFAULT_LOOKS = LOOK_GUIDANCE.length;
/** Later looks keep the last guidance of the ladder with fresh candidates. */
const MAX_LOOKS = 5;

/**
 * The posture look's pins fade over a second each side: the model rarely follows a floor posture's control by
 * itself (4 seeds of "rises from a crouch and walks" with the crouch as its init pose: 1 started low), and the
 * default 0.4 s falloff then turns a standing candidate into a body that drops to the floor or springs up from it
 * in 0.4 s; about a second is how long a person takes to get down or up.
 */
const POSTURE_FALLOFF_FRAMES = 20;

/**
 * Where in its segment a floor posture is held, as fractions of the segment's frames: a body that gets down stays
 * down for the last 40 % (pinned at the last frame alone it lay for the final second of four, and "lie on your back"
 * failed its probe, lying in 16 % of the frames), one that gets down and up again holds it through the middle, and
 * one that rises starts in it for a moment.
 */
const POSTURE_SPANS = { start: [0, 0.15], through: [0.35, 0.65], end: [0.6, 1] } as const;

/** What every look of one request shares. */
interface Batch {
  req: MotionRequest;
  plans: SegmentPlan[];
  intents: Intent[][];
  embeddings: Float32Array[];
  phraseEmbeddings: (Float32Array | null)[];
  poseCodes: Map<PlannedControl, TokenCodes>;
  given: { motion: Motion; codes: TokenCodes[]; startFrame: number } | null;
  steps: SegmentStep[];
  sampling: SamplingOptions;
  bestOf: number;
}

/** A sample's kept candidate so far: its decoded features (past included) and how it ranked. */
interface Kept {
  features: Float32Array;
  fit?: Fit;
  mirrored: boolean;
  /** Every candidate scored for this sample over the looks so far, in order. */
  scores: CandidateScore[];
  total: number;
  intent: number;
  looks: number;
  /** The plans and tasks it was sampled with, where the posture look added pose controls to the request's. */
  posed?: { plans: SegmentPlan[]; tasks: TaskName[] };
}

/** Parses a number of looks (1 … 5) from a flag or an option; `where` names it in the error. */
export function parseLooks(raw: string | number, where: string): number {
  const n = typeof raw === 'number' ? raw : Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOOKS)
    throw new Error(`${where}: looks must be a whole number from 1 to ${MAX_LOOKS} (got ${JSON.stringify(raw)})`);
  return n;
}

/** The better ranked of two kept candidates; the scores, the candidate count and the looks add up. */
function keepBetter(before: Kept | undefined, now: Kept): Kept {
  if (!before) return now;
  const best = ranksAbove(now, before) ? now : before;
  const scores = [...before.scores, ...now.scores];
  const fit = best.fit
    ? { ...best.fit, candidates: (before.fit?.candidates ?? 0) + (now.fit?.candidates ?? 0) }
    : undefined;
  return { ...best, scores, looks: now.looks, ...(fit ? { fit } : {}) };
}

/**
 * Progress over the looks, never going back: the first look fills 5–95 % when it is the only one possible, else
 * 5–80 %, and each further look half of what is left before 95 %.
 */
function lookProgress(totalTokens: number, looks: number, report?: (p: GenerateProgress) => void) {
  let done = 0;
  let inLook = 0;
  let looksTaken = 1;
  let from = 0.05;
  let to = looks > 1 ? 0.8 : 0.95;
  const emit = (stage: GenerateProgress['stage'], fraction: number) =>
    report?.({ stage, tokens: done, totalTokens: totalTokens * looksTaken, fraction });
  return {
    prepare: () => emit('prepare', 0),
    token: () => {
      done++;
      inLook++;
      emit('decode', from + ((to - from) * Math.min(inLook, totalTokens)) / totalTokens);
    },
    nextLook: () => {
      looksTaken++;
      inLook = 0;
      from = to;
      to = from + (0.95 - from) / 2;
    },
    finish: () => emit('finish', 1),
  };
}

// ---------------------------------------------------------------- the engine

class OnnxEngine implements Engine {
  readonly version: string;
  readonly modelDir: string;
  readonly manifest: ModelManifest;
  readonly provider: ExecutionProvider;
  readonly encoderId: string;
  readonly bestOf: number;
  readonly looks: number;
  readonly fitThreshold: number | null;
  private inFlight = 0;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  constructor(
    private readonly model: LoadedModel,
    private readonly encoder: SentenceEncoder,
    private readonly opts: EngineOptions,
    private readonly judge: FitJudge | null,
  ) {
    this.bestOf = judge ? (opts.bestOf ?? activeConfig()?.bestOf ?? DEFAULT_BEST_OF) : 1;
    this.looks = opts.looks ?? activeConfig()?.looks ?? DEFAULT_LOOKS;
    this.fitThreshold = judge?.threshold ?? null;
    this.manifest = model.manifest;
    this.version = model.manifest.version;
    this.modelDir = model.dir;
    this.provider = model.providers.gpt;
    this.encoderId = encoder.id;
  }

  async generate(input: MotionRequestInput | MotionRequest, gen: GenerateOptions = {}): Promise<GenerateResult> {
    if (this.closing) throw new Error(`the engine for model ${this.version} is closed; create a new engine`);
    this.inFlight++;
    try {
      return await this.run(parseMotionRequest(input), gen);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (this.inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => (this.drained = r))).then(() =>
        Promise.all([this.model.close(), this.judge?.close()]).then(() => undefined),
      );
    }
    return this.closing;
  }

  private resolver(): MotionResolver {
    return this.opts.resolveMotion ?? fileMotionResolver;
  }

  private async planSegment(segment: RequestSegment, index: number): Promise<SegmentPlan> {
    const g = this.model.gpt;
    const newTokens = tokensFor(segment.seconds, g.maxTokens);
    const c = segment.control ?? {};
    const where = `segments[${index}]`;
    if (c.continueFrom && index > 0)
      throw new Error(
        `${where}.control.continueFrom: only the first segment can continue an earlier motion (later segments continue the previous one)`,
      );
    const poseOpts = { dataDir: this.opts.dataDir };
    const controls: PlannedControl[] = [];
    const lastFrame = newTokens * FRAMES_PER_TOKEN - 1;
    if (c.init)
      controls.push({
        pose: await resolvePoseRef(c.init, this.resolver(), poseOpts),
        at: 0,
        frame: 0,
        facing: facingOf(c.init),
      });
    for (const [k, key] of (c.keys ?? []).entries()) {
      if (key.at > segment.seconds)
        throw new Error(
          `${where}.control.keys[${k}]: a key pose at ${key.at} s is after the end of the ${segment.seconds} s segment`,
        );
      const pose = await resolvePoseRef(key.pose, this.resolver(), poseOpts);
      controls.push({
        pose,
        at: Math.min(newTokens - 1, Math.floor(key.at * TOKENS_PER_SECOND)),
        frame: Math.min(lastFrame, Math.round(key.at * FPS_OUT)),
        facing: facingOf(key.pose),
      });
    }
    if (c.last)
      controls.push({
        pose: await resolvePoseRef(c.last, this.resolver(), poseOpts),
        at: newTokens - 1,
        frame: lastFrame,
        facing: facingOf(c.last),
      });
    if (controls.length > g.maxControls)
      throw new Error(`${where}: ${controls.length} pose controls; the model takes at most ${g.maxControls}`);
    return { segment, newTokens, controls };
  }

  /** VQ codes of every control pose, in one encoder call. */
  private async encodePoses(plans: SegmentPlan[]): Promise<Map<PlannedControl, TokenCodes>> {
    const all = plans.flatMap((p) => p.controls);
    const out = new Map<PlannedControl, TokenCodes>();
    if (all.length === 0) return out;
    const features = new Float32Array(all.length * 4 * FEATURE_DIM);
    all.forEach((c, i) => features.set(staticPoseFeatures(c.pose.joints), i * 4 * FEATURE_DIM));
    const codes = await encodeFeatures(this.model, features, all.length);
    all.forEach((c, i) => out.set(c, codes[i][0]));
    return out;
  }

  /** The motion to continue, at 20 fps, and the codes of its last tokens (at most maxPastTokens). */
  private async encodePast(ref: MotionRef): Promise<{ motion: Motion; codes: TokenCodes[]; startFrame: number }> {
    const what = 'path' in ref ? ref.path : `motion ${ref.id}`;
    let motion = await this.resolver()(ref);
    if (motion.fps !== 20) motion = resampleMotion(motion, 20);
    const tokens = Math.min(this.model.gpt.maxPastTokens, Math.floor((motion.numFrames - 1) / FRAMES_PER_TOKEN));
    if (tokens < 1)
      throw new Error(
        `continueFrom ${what}: the motion has ${motion.numFrames} frames; at least ${FRAMES_PER_TOKEN + 1} are needed to continue it`,
      );
    const frames = tokens * FRAMES_PER_TOKEN + 1;
    const startFrame = motion.numFrames - frames;
    const window = motion.joints.slice(startFrame * NUM_JOINTS * 3);
    const [codes] = await encodeFeatures(this.model, featurize(window, frames), 1);
    return { motion, codes, startFrame };
  }

  /**
   * The segment's conditioning (aggregateEmbedding), and the phrase's own embedding where best of N should also try
   * it: the words carry a checkable intent (backwards, a side, a turn) and descriptions replace them. Action-GPT's
   * descriptions of "walk backwards" talk about steps and feet and average out to a walk: with them every candidate
   * of the live model walked forward (3 seeds × 4), with the phrase alone 8 of 12 walked backwards. Both come from one
   * encoder call.
   */
  private async embed(
    segment: RequestSegment,
    intents: readonly Intent[],
    bestOf: number,
  ): Promise<{ conditioning: Float32Array; phrase: Float32Array | null }> {
    const descriptions = (segment.descriptions ?? []).filter((d) => d.trim().length > 0);
    if (bestOf < 2 || intents.length === 0 || descriptions.length === 0)
      return { conditioning: await aggregateEmbedding(segment.text, segment.descriptions, this.encoder), phrase: null };
    const vectors = await this.encoder.embed([...descriptions, segment.text]);
    return { conditioning: meanVector(vectors.slice(0, -1)), phrase: vectors[vectors.length - 1] };
  }

  private async run(req: MotionRequest, gen: GenerateOptions): Promise<GenerateResult> {
    if (req.modelVersion && req.modelVersion !== this.version) {
      throw new Error(
        `the request asks for model version "${req.modelVersion}", but this engine runs "${this.version}"`,
      );
    }
    const g = this.model.gpt;
    const sampling = {
      temperature: req.temperature,
      topK: this.opts.topK ?? g.sampling.topK,
      topP: this.opts.topP ?? g.sampling.topP,
    };
    validateSamplingOptions(sampling);
    const plans = await Promise.all(req.segments.map((s, i) => this.planSegment(s, i)));
    const totalTokens = plans.reduce((s, p) => s + p.newTokens, 0);
    const bestOf = this.candidatesPerSample(gen);
    const intents = plans.map((p) => parseIntents(p.segment.text));
    const looks = this.looksFor(gen, bestOf, intents);
    const progress = lookProgress(totalTokens, looks, gen.onProgress);
    progress.prepare();

    const [conditioning, poseCodes, given] = await Promise.all([
      Promise.all(req.segments.map((s, i) => this.embed(s, intents[i], bestOf))),
      this.encodePoses(plans),
      req.segments[0].control?.continueFrom
        ? this.encodePast(req.segments[0].control.continueFrom)
        : Promise.resolve(null),
    ]);
    const batch: Batch = {
      req,
      plans,
      intents,
      embeddings: conditioning.map((c) => c.conditioning),
      phraseEmbeddings: conditioning.map((c) => c.phrase),
      poseCodes,
      given,
      steps: segmentSteps(plans, given?.codes.length ?? 0, this.model.gpt),
      sampling,
      bestOf,
    };
    let kept: Kept[] = [];
    for (let look = 0; look < looks; look++) {
      const found = await this.look(batch, look, progress.token);
      kept = found.map((k, s) => keepBetter(kept[s], k));
      if (kept.every((k) => k.intent >= CLEARLY_DONE)) break;
      progress.nextLook();
    }
    if (looks > 1 && kept.some((k) => k.intent < CLEARLY_DONE)) {
      const posed = await this.postureLook(batch, looks, progress.token);
      if (posed) kept = kept.map((k, s) => (k.intent >= CLEARLY_DONE ? k : keepBetter(k, posed[s])));
    }
    const prefix = given?.codes.length ?? 0;
    const tasks = batch.steps.map((step) => step.task);
    const motions = kept.map((k, s) =>
      this.finish(
        k.features,
        req,
        k.posed?.plans ?? plans,
        k.posed?.tasks ?? tasks,
        s,
        given,
        prefix,
        gen.footCleanup !== false,
        k.fit,
        k.mirrored,
        k.looks,
      ),
    );
    progress.finish();
    const dropValues = prefix * FRAMES_PER_TOKEN * FEATURE_DIM;
    return {
      motions,
      ...(gen.keepFeatures ? { features: kept.map((k) => k.features.slice(dropValues)) } : {}),
      ...(gen.keepScores ? { candidateScores: kept.map((k) => k.scores) } : {}),
    };
  }

  /**
   * One look: samples × N candidates decoded in one batch (plus their reflections when the words name a side), and
   * per sample the one the evaluator and the words' intents rank best. Look 0 is the plain best of N; a later look
   * draws fresh candidates (their own random streams) and, unless the request set one, a stronger guidance scale.
   */
  private async look(
    batch: Batch,
    look: number,
    onToken: () => void,
    scale: number = LOOK_GUIDANCE[Math.min(look, LOOK_GUIDANCE.length - 1)],
    judgePinned = false,
  ): Promise<Kept[]> {
    const { req, plans, intents, embeddings, phraseEmbeddings, poseCodes, given, steps, bestOf } = batch;
    const g = this.model.gpt;
    const samples = req.samples;
    const rows = samples * bestOf;
    // Candidate-major rows (rerank.ts): rows 0 … samples−1 of look 0 are exactly the batch without re-ranking.
    const rngs: Rng[] = Array.from({ length: rows }, (_, r) =>
      candidateRng(req.seed, r % samples, look * bestOf + Math.floor(r / samples)),
    );
    const guidance = req.guidance ?? g.sampling.guidance * scale;
    const prefix = given?.codes ?? [];
    const codes: TokenCodes[][] = Array.from({ length: rows }, () => [...prefix]);
    for (const [i, plan] of plans.entries()) {
      const { task, past: P } = steps[i];
      const controls: Control[] = plan.controls.map((c) => ({ codes: poseCodes.get(c) as TokenCodes, p: P + c.at }));
      const fresh = await decodeTokens(this.model, {
        task,
        textEmb: embeddings[i],
        ...(phraseEmbeddings[i]
          ? { sampleTextEmb: mixedConditioning(embeddings[i], phraseEmbeddings[i], rows, samples) }
          : {}),
        side: textSide(plan.segment.text),
        duration: P + plan.newTokens,
        controls,
        past: codes.map((c) => c.slice(c.length - P)),
        sampling: batch.sampling,
        guidance,
        rngs,
        onToken,
      });
      fresh.forEach((f, s) => codes[s].push(...f));
    }

    const decoded = await decodeCodes(this.model, codes);
    const mirror = bestOf > 1 && this.judge !== null && !given && asksForASide(intents, plans);
    // Candidate-major again: the mirror of candidate c is candidate bestOf + c.
    const features = mirror ? [...decoded, ...decoded.map((f) => mirrorFeatures(f, f.length / FEATURE_DIM))] : decoded;
    const candidates = mirror ? 2 * bestOf : bestOf;
    const dropValues = prefix.length * FRAMES_PER_TOKEN * FEATURE_DIM;
    const pins = judgePinned && req.pinPoses !== false ? pinsOf(plans, prefix.length * FRAMES_PER_TOKEN) : [];
    const judged = pins.length > 0 ? features.map((f) => asPinned(f, pins)) : features;
    const choices = await this.choose(
      judged.map((f) => f.subarray(dropValues)),
      plans,
      embeddings,
      samples,
      candidates,
      intents,
    );
    return choices.map((c): Kept => {
      const score = c.scores[Math.floor(c.row / samples)];
      return {
        features: features[c.row],
        ...(c.fit ? { fit: c.fit } : {}),
        mirrored: c.row >= rows,
        scores: c.scores,
        total: score?.total ?? 0,
        // no judge, nothing measured (and one look: looksFor)
        intent: score?.intent ?? 1,
        looks: look + 1,
      };
    });
  }

  /**
   * The posture look, after every look missed: a floor act the words name (lie down, crouch, rise from a crouch)
   * that no candidate reached itself is given to the model as MotionGPT's pose controls — the data's posture held
   * where the words put it (intent.ts floorPostures, POSTURE_SPANS), and the standing frame at the start of a first
   * segment that gets down into it — and N fresh candidates are sampled at the model's own guidance (the controls
   * carry the posture now, not a stronger pull of the words). They are judged as pinned, which is how users get them.
   * Measured on the live model before this look: no candidate of five looks lay down for "a person lies down on the
   * floor", none rose from a crouch for "a person rises from a crouch and walks". A request that brings pose
   * controls of its own was planned (the agent's pantomimes, a user's poses) and is left as it is: the swim
   * pantomime's "lie down" step, given its own posture too, dropped to the floor in half a second and lost its
   * strokes. Null when no segment names a posture.
   */
  private async postureLook(batch: Batch, look: number, onToken: () => void): Promise<Kept[] | null> {
    if (batch.plans.some((p) => p.controls.length > 0)) return null;
    const plans = await Promise.all(batch.plans.map((p, i) => this.withFloorPostures(p, i, batch)));
    if (plans.every((p, i) => p === batch.plans[i])) return null;
    const steps = segmentSteps(plans, batch.given?.codes.length ?? 0, this.model.gpt);
    const posed = { ...batch, plans, steps, poseCodes: await this.encodePoses(plans) };
    const tasks = steps.map((s) => s.task);
    const found = await this.look(posed, look, onToken, 1, true);
    return found.map((k) => ({ ...k, posed: { plans, tasks } }));
  }

  /** The segment's plan with its floor postures as pose controls, or the plan itself when it gets none. */
  private async withFloorPostures(plan: SegmentPlan, index: number, batch: Batch): Promise<SegmentPlan> {
    if (!batch.intents[index].some((i) => i.kind === 'low')) return plan;
    const postures = floorPostures(plan.segment.text);
    const named = (['start', 'through', 'end'] as const).flatMap((where) => {
      const name = postures[where];
      return name ? [{ name, span: POSTURE_SPANS[where] }] : [];
    });
    if (named.length === 0) return plan;
    // a first segment that gets down into the posture starts standing, where the model's own start may be on the floor
    const standing = !postures.start && index === 0 && !batch.given;
    const wanted = [...(standing ? [{ name: 'standing' as NamedPose, span: [0, 0] as const }] : []), ...named];
    const lastFrame = plan.newTokens * FRAMES_PER_TOKEN - 1;
    const controls = await Promise.all(
      wanted.slice(0, this.model.gpt.maxControls).map(async (w): Promise<PlannedControl> => {
        const [from, to] = w.span.map((f) => Math.round(f * lastFrame));
        return {
          pose: await resolvePoseRef({ kind: 'named', name: w.name }, this.resolver(), { dataDir: this.opts.dataDir }),
          at: Math.min(plan.newTokens - 1, Math.floor(from / FRAMES_PER_TOKEN)),
          frame: from,
          facing: 'motion',
          falloffFrames: POSTURE_FALLOFF_FRAMES,
          ...(to > from ? { holdUntilFrame: to } : {}),
        };
      }),
    );
    return controls.length > 0 ? { ...plan, controls } : plan;
  }

  /** How many looks a request may take: more than one only when best of N ranks and the words ask something checkable. */
  private looksFor(gen: GenerateOptions, bestOf: number, intents: readonly Intent[][]): number {
    const looks = gen.looks === undefined ? this.looks : parseLooks(gen.looks, 'looks');
    if (bestOf < 2 || this.judge === null || intents.every((i) => i.length === 0)) return 1;
    return looks;
  }

  private candidatesPerSample(gen: GenerateOptions): number {
    if (gen.bestOf === undefined) return this.bestOf;
    const n = parseBestOf(gen.bestOf, 'bestOf');
    if (n > 1 && !this.judge)
      throw new Error(
        `bestOf ${n}: model ${this.version} carries no evaluator (eval_motion.onnx, eval_text.onnx) to rank candidates with`,
      );
    return n;
  }

  /** Per sample, the candidate row to keep and its fit; without an evaluator, sample s keeps row s. */
  private async choose(
    features: Float32Array[],
    plans: SegmentPlan[],
    embeddings: Float32Array[],
    samples: number,
    bestOf: number,
    intents: readonly Intent[][],
  ): Promise<Choice[]> {
    if (!this.judge)
      return Array.from({ length: samples }, (_, s) => ({ row: candidateRow(s, 0, samples), scores: [] }));
    let start = 0;
    const windows = plans.map((p) => {
      const w = { start, end: start + p.newTokens * FRAMES_PER_TOKEN };
      start = w.end;
      return w;
    });
    return this.judge.choose(features, windows, embeddings, samples, bestOf, intents);
  }

  private finish(
    features: Float32Array,
    req: MotionRequest,
    plans: SegmentPlan[],
    tasks: TaskName[],
    sample: number,
    given: { motion: Motion; startFrame: number } | null,
    pastTokens: number,
    footCleanup: boolean,
    fit?: Fit,
    mirrored = false,
    looks = 1,
  ): Motion {
    const frames = features.length / FEATURE_DIM;
    const dropFrames = pastTokens * FRAMES_PER_TOKEN;
    let recover: { heading0: number; root0: [number, number] } = { heading0: 0, root0: [0, 0] };
    if (given) {
      // The decoded past starts where the encoded window of the earlier motion started: place it there.
      const f = given.startFrame;
      const j = given.motion.joints.subarray(f * NUM_JOINTS * 3, (f + 1) * NUM_JOINTS * 3);
      recover = { heading0: headingAngles(j, 1)[0], root0: [j[0], j[2]] };
    } else {
      const init = plans[0].controls.find((c) => c.at === 0);
      if (init)
        recover = {
          heading0: headingAngles(init.pose.joints, 1)[0],
          root0: [init.pose.joints[0], init.pose.joints[2]],
        };
    }
    const segments = [];
    let start = 0;
    for (const plan of plans) {
      const end = start + plan.newTokens * FRAMES_PER_TOKEN;
      const caption = plan.segment.caption;
      segments.push({ text: plan.segment.text, ...(caption ? { caption } : {}), start, end });
      start = end;
    }
    return finishMotion(features, frames, {
      recover,
      dropFrames,
      pins: req.pinPoses === false ? [] : pinsOf(plans, dropFrames),
      footCleanup,
      floorAlign: !given,
      speed: req.speed,
      segments,
      provenance: {
        source: `model:${this.version}`,
        modelVersion: this.version,
        seed: req.seed,
        request: { ...req, sample, tasks, encoder: this.encoderId, provider: this.provider },
        createdAt: new Date().toISOString(),
        ...(fit ? { fit } : {}),
        ...(mirrored ? { mirrored } : {}),
        ...(looks > 1 ? { looks } : {}),
      },
    });
  }
}

/** Every pose control of the plans as a pin on the decoded frames (`dropFrames`: the re-decoded past before them). */
function pinsOf(plans: readonly SegmentPlan[], dropFrames: number): Pin[] {
  const pins: Pin[] = [];
  let start = 0;
  for (const plan of plans) {
    for (const c of plan.controls)
      pins.push({
        frame: dropFrames + start + c.frame,
        joints: c.pose.joints,
        facing: c.facing,
        ...(c.falloffFrames !== undefined ? { falloffFrames: c.falloffFrames } : {}),
        ...(c.holdUntilFrame !== undefined ? { holdUntil: dropFrames + start + c.holdUntilFrame } : {}),
      });
    start += plan.newTokens * FRAMES_PER_TOKEN;
  }
  return pins;
}

/**
 * A candidate's features as they look once its pins are applied (the last frame repeated, so the count stays):
 * the posture look judges what users will see, a body that the pins take down to the floor, not the model's
 * near miss before them.
 */
function asPinned(features: Float32Array, pins: readonly Pin[]): Float32Array {
  const T = features.length / FEATURE_DIM;
  const joints = pinPoses(recoverJoints(features, T), T, pins);
  const held = new Float32Array((T + 1) * NUM_JOINTS * 3);
  held.set(joints);
  held.copyWithin(T * NUM_JOINTS * 3, (T - 1) * NUM_JOINTS * 3, T * NUM_JOINTS * 3);
  return featurize(held, T + 1);
}

/**
 * Whether best of N should also try every candidate reflected left ↔ right: the words name a side that the joints
 * can check (a hand, a fist, a leg, a turn, a sidestep) and nothing pins the motion (pose controls and a motion to
 * continue are not symmetric). The sentence encoder hears "left hand" and "right hand" almost alike, so the model
 * often acts with the other limb; its reflection is the same movement, as natural, on the asked side.
 */
function asksForASide(intents: readonly (readonly Intent[])[], plans: readonly SegmentPlan[]): boolean {
  if (plans.some((p) => p.controls.length > 0)) return false;
  return intents.some((asked) =>
    asked.some(
      (i) =>
        i.kind === 'limb' ||
        i.kind === 'turn' ||
        (i.kind === 'travel' && (i.direction === 'left' || i.direction === 'right')),
    ),
  );
}

/**
 * Per batch row (candidate-major), the conditioning of its candidate: even candidates keep the descriptions, odd
 * ones the phrase itself, so candidate 0 — the N = 1 result — is unchanged and the ranking chooses between them.
 */
function mixedConditioning(
  descriptions: Float32Array,
  phrase: Float32Array,
  rows: number,
  samples: number,
): Float32Array[] {
  return Array.from({ length: rows }, (_, r) => (Math.floor(r / samples) % 2 === 1 ? phrase : descriptions));
}

/** Loads a model version (verified) and the text encoder it needs; see EngineOptions for the defaults. */
export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  const dir = resolveModelDir(opts);
  const encoder = opts.encoder ?? (await sharedSentenceEncoder());
  const model = await loadModel(dir, {
    encoder: { id: encoder.id, dim: encoder.dim },
    providers: opts.providers ?? parseExecutionProviders(activeConfig()?.executionProviders),
    threads: opts.threads ?? defaultThreads(),
    log: opts.log ?? silentLog,
  });
  if (opts.bestOf !== undefined) parseBestOf(opts.bestOf, 'bestOf');
  if (opts.looks !== undefined) parseLooks(opts.looks, 'looks');
  const judge = hasEvaluator(model.manifest, dir)
    ? await createFitJudge(model.manifest, dir, {
        encoder,
        dataDir: opts.dataDir === undefined ? defaultDataDir() : opts.dataDir,
      }).catch(async (err: unknown) => {
        await model.close();
        throw err;
      })
    : null;
  return new OnnxEngine(model, encoder, opts, judge);
}
