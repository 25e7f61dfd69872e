/**
 * Evaluation for the gate through the production path (src/motion's evaluateProductionPath: this engine with its
 * sampling and foot clean-up, the ONNX evaluator), for the candidate and for the live model on the same clips
 * with the same evaluator, so the gate compares like with like. The trainer's Python numbers stay in the
 * manifest's metrics beside them. The live model's scores are cached per (live version, evaluator, data, limit):
 * a queue of jobs measures it once.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ModelManifest } from '../../motion/contracts.js';
import {
  INDEX_FILE,
  REPO_ROOT,
  createEngine,
  defaultTrainingDataDirs,
  evaluateProductionPath,
  loadProbeFile,
  runProbes,
  splitDataDirs,
} from '../../motion/index.js';
import type { EvalReport, ProbePlanner } from '../../motion/index.js';
import type { GateRule } from './store.js';

export interface LiveModel {
  version: string;
  dir: string;
  manifest: ModelManifest;
}

export interface Candidate {
  dir: string;
  manifest: ModelManifest;
  job: { id: number };
  /** The packed dataset the job trained on (null: the default data). */
  dataDir: string | null;
  live: LiveModel | null;
}

/** Measures a trained model; the default trusts the metrics the trainer wrote into its manifest. */
export type EvaluateFn = (candidate: Candidate) => Promise<Record<string, unknown>> | Record<string, unknown>;
/** Measures the live model the same way as the candidate (its result is merged over its manifest's metrics). */
export type EvaluateLiveFn = (
  live: LiveModel,
  candidate: Candidate,
) => Promise<Record<string, unknown>> | Record<string, unknown>;

export const manifestMetrics: EvaluateFn = (c) => c.manifest.metrics;

/**
 * On the test split as this engine generates: R-precision top-3 macro-averaged over action labels and on held-out
 * paraphrases higher (what users see: every action and every phrasing, not just the head of the data). The
 * aggregate R-precision top-3 (k = 4 descriptions), 97 % Bandai-Namco clips and at 0.92 near its ceiling, must not
 * fall but need not rise: asked to rise it rejected a fine-tune that tied it to the last count (job 8: macro 0.752 vs
 * 0.733, paraphrases 0.532 vs 0.501), judging the model by the head of the data again. What users see of the acts
 * must not fall either: side accuracy on left/right requests, floor-level acts, the acting probes.
 */
export const PRODUCTION_GATE: readonly GateRule[] = [
  { metric: 'production.test.r_precision_top3_macro', better: 'higher' },
  { metric: 'production.test.paraphrase_r_precision_top3', better: 'higher' },
  { metric: 'production.test.r_precision_top3', better: 'not-lower' },
  { metric: 'production.test.side_accuracy', better: 'not-lower' },
  { metric: 'production.test.floor_within_rate', better: 'not-lower' },
  // What the joints physically do, per action and per phrasing, through the chat path: R-precision can rise while
  // a model stops raising its hand for "wave your left hand" (charades-full-job5-20261207-0201 did).
  { metric: 'production.probes.passed', better: 'not-lower' },
];

/** The acting probes the gate runs for both models: every act and pantomime, and the same acts in other words. */
export const DEFAULT_GATE_PROBES: readonly string[] = [
  join(REPO_ROOT, 'bench', 'probes', 'acting.json'),
  join(REPO_ROOT, 'bench', 'probes', 'rephrased.json'),
];

export interface ProbeGateOptions {
  files: readonly string[];
  /** The chat path's planner; the CLI provides the agent's offline planner (motion/probes/planner.ts). */
  planner: () => Promise<ProbePlanner>;
}

export interface ProbeScores {
  /** Probes passed (each in at least its file's passSeeds of its seeds), over every file. */
  passed: number;
  probes: number;
  seeds_passed: number;
  seeds: number;
  /** Per file: probes passed of probes. */
  files: Record<string, string>;
}

/** Runs the probe files through the planner and an engine on `modelDir` at its defaults, as a chat user gets it. */
async function probeScores(modelDir: string, files: readonly string[], planner: ProbePlanner): Promise<ProbeScores> {
  const engine = await createEngine({ modelDir });
  try {
    const out: ProbeScores = { passed: 0, probes: 0, seeds_passed: 0, seeds: 0, files: {} };
    for (const file of files) {
      const report = await runProbes(loadProbeFile(file), planner, engine);
      out.passed += report.overall.passed;
      out.probes += report.overall.probes;
      out.seeds_passed += report.overall.seeds.passed;
      out.seeds += report.overall.seeds.total;
      out.files[basename(file)] = `${report.overall.passed}/${report.overall.probes}`;
    }
    return out;
  } finally {
    await engine.close();
  }
}

export interface ProductionScores {
  evaluator: string;
  data: string;
  clips: number;
  r_precision_top3: number | null;
  fid: number;
  mm_dist: number;
  diversity: number | null;
  foot_skate: number;
  r_precision_top3_raw_text: number | null;
  r_precision_top3_macro: number;
  r_precision_top3_rarest_third: number;
  paraphrase_r_precision_top3: number | null;
  side_accuracy: number;
  floor_within_rate: number;
  seconds: number;
}

/** The gate's view of an EvalReport: `{ production: { test: … } }`, where PRODUCTION_GATE looks. */
export function productionScores(
  report: EvalReport,
  evaluator: string,
  data: string,
): { production: { test: ProductionScores; note?: string } } {
  const t = report.sets.test;
  const top3 = (v: number[] | null) => (v && v.length >= 3 ? v[2] : null);
  return {
    production: {
      test: {
        evaluator,
        data,
        clips: t.clips,
        r_precision_top3: top3(t.rPrecision.k4),
        fid: t.fid.k4,
        mm_dist: t.mmDist.k4,
        diversity: t.diversity.k4,
        foot_skate: t.footSkate.k4,
        r_precision_top3_raw_text: top3(t.rPrecision.k0),
        r_precision_top3_macro: report.fidelity.macro.generated,
        r_precision_top3_rarest_third: report.fidelity.rarestThird.score.generated,
        paraphrase_r_precision_top3: report.fidelity.paraphrases.generated,
        side_accuracy: report.fidelity.sides.accuracy,
        floor_within_rate: report.fidelity.floor.withinRate,
        seconds: report.seconds,
      },
      ...(t.rPrecision.note ? { note: t.rPrecision.note } : {}),
    },
  };
}

function hasEvaluator(dir: string): boolean {
  return existsSync(join(dir, 'eval_motion.onnx')) && existsSync(join(dir, 'eval_text.onnx'));
}

function sameFeatureStats(a: ModelManifest, b: ModelManifest): boolean {
  return JSON.stringify([a.features.mean, a.features.std]) === JSON.stringify([b.features.mean, b.features.std]);
}

/**
 * One evaluator for both sides: the live model's when it has one and reads features normalised like the
 * candidate's (the evaluation normalises with the generating model's statistics), else the candidate's own.
 */
export function sharedEvaluatorDir(c: Candidate): string {
  if (c.live && hasEvaluator(c.live.dir) && sameFeatureStats(c.live.manifest, c.manifest)) return c.live.dir;
  if (hasEvaluator(c.dir)) return c.dir;
  throw new Error(
    `no evaluator for the production evaluation: neither the candidate (${c.dir}) nor the live model carries eval_motion.onnx + eval_text.onnx`,
  );
}

export interface ProductionEvaluationOptions {
  /** Where the live model's scores are cached. */
  cacheDir: string;
  /** At most this many test clips (0 = all; R-precision needs at least 32). */
  limit?: number;
  seed?: number;
  /** Data for jobs that bring none (default: the training packs, motion + cmu; several folders comma-separated). */
  defaultData?: string;
  /** Held-out (action, style) pairs (default trainer/zeroshot_pairs.json); scored for the record, not gated. */
  zeroShotFile?: string;
  /** Acting probes for both models (PRODUCTION_GATE reads production.probes.passed); null = none are run. */
  probes?: ProbeGateOptions | null;
  onProgress?: (line: string) => void;
}

function fileSha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
}

/**
 * Bumped whenever what the scores measure changes (a metric's definition, the engine path they run through), so the
 * live model's cached scores are measured again rather than compared against a candidate's new ones.
 * 2: the floor rate counts the clips whose words name a floor act. 3: acting probes. 4: best of N looks again, ranks
 * what clearly does as asked first and checks raised hands and flight (engine.ts, rerank.ts, intent.ts). 5: the
 * posture look pins the floor posture the words name when no look reaches it (engine.ts).
 */
export const SCORES_VERSION = 5;

export function productionEvaluation(opts: ProductionEvaluationOptions): {
  evaluate: EvaluateFn;
  evaluateLive: EvaluateLiveFn;
} {
  const dataOf = (c: Candidate): string => c.dataDir ?? opts.defaultData ?? defaultTrainingDataDirs().join(',');
  // One hash over every pack's index, so the live model's cached scores are redone when any pack changes.
  const dataSha = (data: string): string =>
    createHash('sha256')
      .update(
        splitDataDirs(data)
          .map((d) => fileSha(join(resolve(d), INDEX_FILE)))
          .join('|'),
      )
      .digest('hex')
      .slice(0, 16);
  let planner: Promise<ProbePlanner> | undefined;
  const run = async (modelDir: string, c: Candidate) => {
    const evaluator = sharedEvaluatorDir(c);
    const data = dataOf(c);
    // The external test pack is for `charades eval`'s record; the gate reads the training packs' test split.
    const report = await evaluateProductionPath({
      // Pose controls and continuation are not gated: a sample of 48 test clips keeps them on record at a sixth of the cost.
      engine: { modelDir },
      evaluatorDir: evaluator,
      dataDir: data,
      externalDir: null,
      controlClips: 48,
      limit: opts.limit ?? 0,
      seed: opts.seed ?? 0,
      zeroShotFile: opts.zeroShotFile,
      onProgress: opts.onProgress,
    });
    const scores = productionScores(report, evaluator, data);
    if (!opts.probes) return scores;
    opts.onProgress?.(`acting probes: ${opts.probes.files.length} files through the planner`);
    // one planner (an agent with its grounding vocabulary) serves the candidate and the live model
    planner ??= opts.probes.planner();
    return {
      production: { ...scores.production, probes: await probeScores(modelDir, opts.probes.files, await planner) },
    };
  };
  return {
    evaluate: async (c) => ({ ...c.manifest.metrics, ...(await run(c.dir, c)) }),
    evaluateLive: async (live, c) => {
      const data = dataOf(c);
      const evaluator = sharedEvaluatorDir(c);
      const key = [
        SCORES_VERSION,
        live.version,
        fileSha(join(evaluator, 'eval_motion.onnx')),
        dataSha(data),
        opts.limit ?? 0,
        opts.seed ?? 0,
        ...(opts.probes?.files ?? []).map((f) => fileSha(f)),
      ].join('|');
      const file = join(opts.cacheDir, `live-${createHash('sha256').update(key).digest('hex').slice(0, 24)}.json`);
      if (existsSync(file)) {
        try {
          return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        } catch {
          // a damaged cache entry is measured again
        }
      }
      const scores = await run(live.dir, c);
      mkdirSync(opts.cacheDir, { recursive: true });
      writeFileSync(`${file}.tmp`, JSON.stringify(scores));
      renameSync(`${file}.tmp`, file);
      return scores;
    },
  };
}
