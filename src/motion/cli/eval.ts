/**
 * `charades eval`: runs the production path (engine + the model version's ONNX evaluator) over the test split
 * and the zero-shot pairs; prints the metrics and, with --report DIR, writes report.json, report.md and PNG plots.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createEngine, parseLooks } from '../engine/engine.js';
import { evaluateProductionPath, loadEvaluator, type EvalReport, type SetMetrics } from '../engine/evaluate.js';
import { fidelityMarkdown } from '../engine/fidelity.js';
import { fitThreshold, parseBestOf } from '../engine/rerank.js';
import { defaultDataDir } from '../paths.js';
import { sharedSentenceEncoder } from '../text/config.js';
import { probePlanner } from '../probes/planner.js';
import { formatProbeReport, loadProbeFile, runProbes, type ProbeReport } from '../probes/run.js';
import { barChart, histogram } from '../engine/png.js';

export interface EvalCliOptions {
  json?: boolean;
  report?: string;
  limit?: string;
  seed?: string;
  model?: string;
  modelVersion?: string;
  models?: string;
  evaluator?: string;
  data?: string;
  quiet?: boolean;
  probes?: string;
  only?: string;
  bestOf?: string;
  looks?: string;
  fitThreshold?: boolean;
}

const fmt = (x: number | null | undefined, d = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d);
const top = (r: number[] | null): string => (r ? r.map((x) => fmt(x)).join(' / ') : '–');

function setTable(name: string, s: SetMetrics): string[] {
  return [
    `### ${name} (${s.clips} clips)`,
    '| metric | ground truth | generated (k = 4) | generated (k = 0, raw text) |',
    '| --- | --- | --- | --- |',
    `| R-precision top-1/2/3 | ${top(s.rPrecision.gt)} (raw-text side: ${top(s.rPrecision.gtRawText)}) | ${top(s.rPrecision.k4)} | ${top(s.rPrecision.k0)} |`,
    `| R-precision top-1/2/3 of the decoded features (before post-processing; what the trainer scores) | | ${top(s.rPrecision.k4Features)} | ${top(s.rPrecision.k0Features)} |`,
    `| FID | – | ${fmt(s.fid.k4)} | ${fmt(s.fid.k0)} |`,
    `| MM-Dist | ${fmt(s.mmDist.gt)} | ${fmt(s.mmDist.k4)} | ${fmt(s.mmDist.k0)} |`,
    `| Diversity | ${fmt(s.diversity.gt)} | ${fmt(s.diversity.k4)} | – |`,
    `| foot-skate ratio | ${fmt(s.footSkate.gt, 4)} | ${fmt(s.footSkate.k4, 4)} (without foot clean-up: ${fmt(s.footSkate.k4WithoutCleanup, 4)}) | – |`,
    ...(s.rPrecision.note ? [`\n${s.rPrecision.note}`] : []),
    '',
  ];
}

export function reportMarkdown(r: EvalReport): string {
  const pc = r.poseControl;
  return [
    `# charades eval — model ${r.model}`,
    `Encoder ${r.encoder}, provider ${r.provider}, evaluator ${r.evaluator}, seed ${r.seed}, ${r.seconds.toFixed(0)} s.`,
    '',
    ...setTable('Test split', r.sets.test),
    ...(r.sets.zeroshot ? setTable('Zero-shot (held-out action × style pairs)', r.sets.zeroshot) : []),
    fidelityMarkdown(r.fidelity),
    `### Pose controls (${pc.clips} test clips; mean per-joint error, m; root-xz aligned)`,
    'Model only = control tokens alone (`pinPoses: false`); engine = poses pinned (the default). Vel: joint-velocity error (m/s) over the 5 frames at the controlled end.',
    '',
    '| control | text only | model only | reduction | engine (pinned) | reduction |',
    '| --- | --- | --- | --- | --- | --- |',
    ...(
      [
        ['initial pose (Recon)', pc.init],
        ['last pose (Recon)', pc.last],
        ['key poses (Dist)', pc.keys],
      ] as const
    ).map(
      ([name, e]) =>
        `| ${name} | ${fmt(e.textOnly)} | ${fmt(e.modelOnly.controlled)} | ${fmt(e.modelOnly.reduction * 100, 1)} % | ${fmt(e.controlled)} | ${fmt(e.reduction * 100, 1)} % |`,
    ),
    ...(
      [
        ['initial pose (Vel)', pc.init.vel],
        ['last pose (Vel)', pc.last.vel],
      ] as const
    ).map(([name, v]) => `| ${name} | ${fmt(v?.textOnly)} | ${fmt(v?.modelOnly)} | | ${fmt(v?.controlled)} | |`),
    '',
    `### Continuation (${r.continuation.clips} clips: first half observed, second half predicted)`,
    `| | ADE (m) | FDE (m) |`,
    '| --- | --- | --- |',
    `| model | ${fmt(r.continuation.model.ade)} | ${fmt(r.continuation.model.fde)} |`,
    `| constant velocity | ${fmt(r.continuation.constantVelocity.ade)} | ${fmt(r.continuation.constantVelocity.fde)} |`,
    '',
    "### The model version's own (Python) evaluation, from its manifest",
    '```json',
    JSON.stringify(r.python, null, 1),
    '```',
    '',
  ].join('\n');
}

export function writeEvalReport(dir: string, r: EvalReport): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, Buffer | string][] = [
    ['report.json', `${JSON.stringify(r, null, 1)}\n`],
    ['report.md', reportMarkdown(r)],
    [
      'rprecision-per-action.png',
      barChart(
        'top-3 R-precision per action (test)',
        ['ground truth', 'generated'],
        r.sets.test.perAction.map((a) => ({ label: a.action, values: [a.top3Gt, a.top3Gen] })),
        { max: 1 },
      ),
    ],
    [
      'foot-skate-histogram.png',
      histogram('foot-skate ratio per clip (test)', [
        { name: 'ground truth', values: r.sets.test.footSkatePerClip.gt },
        { name: 'generated', values: r.sets.test.footSkatePerClip.k4 },
      ]),
    ],
    [
      'pose-control.png',
      barChart(
        'pose-control error (m)',
        ['text only', 'model only', 'pinned'],
        [
          {
            label: 'init',
            values: [
              r.poseControl.init.textOnly,
              r.poseControl.init.modelOnly.controlled,
              r.poseControl.init.controlled,
            ],
          },
          {
            label: 'last',
            values: [
              r.poseControl.last.textOnly,
              r.poseControl.last.modelOnly.controlled,
              r.poseControl.last.controlled,
            ],
          },
          {
            label: 'keys',
            values: [
              r.poseControl.keys.textOnly,
              r.poseControl.keys.modelOnly.controlled,
              r.poseControl.keys.controlled,
            ],
          },
        ],
      ),
    ],
  ];
  for (const [name, content] of files) writeFileSync(join(dir, name), content);
  return files.map(([name]) => join(dir, name));
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a whole number ≥ 0, got "${value}"`);
  return n;
}

/** The engine flags the evaluation and the probes share: --best-of and --looks. */
function rankingFlags(o: EvalCliOptions): { bestOf?: number; looks?: number } {
  return {
    ...(o.bestOf === undefined ? {} : { bestOf: parseBestOf(o.bestOf, '--best-of') }),
    ...(o.looks === undefined ? {} : { looks: parseLooks(o.looks, '--looks') }),
  };
}

export async function runEvalCommand(o: EvalCliOptions): Promise<{ report: EvalReport; files: string[] }> {
  const report = await evaluateProductionPath({
    engine: { modelDir: o.model, modelsDir: o.models, version: o.modelVersion, ...rankingFlags(o) },
    evaluatorDir: o.evaluator,
    dataDir: o.data,
    limit: positiveInt(o.limit, '--limit'),
    seed: positiveInt(o.seed, '--seed'),
    onProgress: o.quiet ? undefined : (m) => process.stderr.write(`${m}\n`),
  });
  return { report, files: o.report ? writeEvalReport(resolve(o.report), report) : [] };
}

/** `charades eval --fit-threshold`: calibrates the model's threshold again (and caches it); the engine otherwise does so once per model. */
async function refreshFitThreshold(o: EvalCliOptions): Promise<unknown> {
  const engine = await createEngine({ modelDir: o.model, modelsDir: o.models, version: o.modelVersion, bestOf: 1 });
  const { ev } = await loadEvaluator(engine.manifest, engine.modelDir);
  try {
    const found = await fitThreshold({
      manifest: engine.manifest,
      ev,
      encoder: await sharedSentenceEncoder(),
      dataDir: resolve(o.data ?? defaultDataDir()),
      refresh: true,
    });
    if (!found) throw new Error(`no test split to calibrate on in ${o.data ?? defaultDataDir()}`);
    return found.calibration ?? found;
  } finally {
    await Promise.all([ev.motion.release(), ev.text.release(), engine.close()]);
  }
}

/** `charades eval --probes FILE`: the probes through the planner provided by the CLI and the engine with its defaults. */
export async function runProbeCommand(o: EvalCliOptions): Promise<ProbeReport> {
  const file = loadProbeFile(resolve(o.probes as string));
  const planner = await probePlanner();
  const engine = await createEngine({
    modelDir: o.model,
    modelsDir: o.models,
    version: o.modelVersion,
    ...(o.data ? { dataDir: o.data } : {}),
    ...rankingFlags(o),
  });
  try {
    return await runProbes(file, planner, engine, {
      only: o.only
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      onProbe: o.quiet
        ? undefined
        : (r, i, n) => process.stderr.write(`[${i + 1}/${n}] ${r.pass ? 'pass' : 'fail'} ${r.id}\n`),
    });
  } finally {
    await engine.close();
  }
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('evaluate the production path (engine + ONNX evaluator) on the test split and the zero-shot pairs')
    .option('--json', 'print the metrics as JSON')
    .option('--report <dir>', 'write report.json, report.md and PNG plots here')
    .option('--limit <n>', 'at most N clips per set (0 = all)', '0')
    .option('--seed <n>', 'sampling seed', '0')
    .option('--model <dir>', 'a model version folder (default: the live version)')
    .option('--model-version <v>', 'a version in the registry')
    .option('--models <dir>', 'the model registry')
    .option('--evaluator <dir>', 'folder with eval_motion.onnx and eval_text.onnx when the model has none')
    .option('--data <dir>', 'motion data folder')
    .option('--quiet', 'no progress on stderr')
    .option(
      '--probes <file>',
      'run acting probes instead: prompts through the offline planner and the engine, physical checks on the joints (e.g. bench/probes/acting.json)',
    )
    .option('--only <ids>', 'with --probes: only these probe ids or categories (comma-separated)')
    .option(
      '--best-of <n>',
      "candidates per sample (default CHARADES_BEST_OF or the engine's measured default); 1 for scores not chosen by the evaluator that judges them",
    )
    .option(
      '--looks <n>',
      'looks at most per request (default 3; 1 = plain best of N): another look samples fresh candidates with stronger guidance when the kept one does not do what the words ask',
    )
    .option('--fit-threshold', "re-derive the model's best-of-N confidence threshold from the test split and print it")
    .action(async (o: EvalCliOptions) => {
      if (o.probes) {
        const report = await runProbeCommand(o);
        process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : formatProbeReport(report));
        return;
      }
      if (o.fitThreshold) {
        process.stdout.write(`${JSON.stringify(await refreshFitThreshold(o), null, 1)}\n`);
        return;
      }
      const { report, files } = await runEvalCommand(o);
      if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stdout.write(`${reportMarkdown(report)}${files.length ? `\nwrote ${files.join(', ')}\n` : ''}`);
    });
}
