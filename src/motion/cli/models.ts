/**
 * `charades models list | use VERSION | rollback | verify [VERSION] | vocabulary [VERSION]`: the model registry
 * (src/motion/registry/) from the command line. `vocabulary` writes a model version's vocabulary (what it was
 * taught to act, with text embeddings; see src/motion/vocabulary.ts) so the agent can ground requests in it. Run
 * it for every new version: the agent reads the LIVE version's vocabulary.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { listVersions, liveVersion, rollback, useVersion, verifyVersion } from '../registry.js';
import { sharedSentenceEncoder } from '../text/config.js';
import { DEFAULT_PARAPHRASES_FILE } from '../text/paraphrases.js';
import { writeVocabulary } from '../vocabulary.js';

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function modelsDirOf(opts: { models?: string }): string {
  return resolve(opts.models ?? loadConfig().modelsDir);
}

/**
 * The metrics the training gate compares (src/worker/train/gate.ts DEFAULT_GATE, then evaluate.ts PRODUCTION_GATE;
 * test/worker/train-units.test.ts keeps the two lists equal), listed by their last name: what a person compares
 * versions on. Named here so the registry's commands do not import the training worker.
 */
export const LISTED_METRICS: readonly string[] = [
  'test.text_to_motion.generated.descriptions_k4.r_precision_top3',
  'test.text_to_motion.generated.descriptions_k4.fid',
  'production.test.r_precision_top3_macro',
  'production.test.paraphrase_r_precision_top3',
  'production.test.r_precision_top3',
  'production.test.side_accuracy',
  'production.test.floor_within_rate',
  'production.probes.passed',
];

/** A metric's short name: its last key, with its parent where the last alone says nothing (probes_passed). */
function shortName(metric: string): string {
  const keys = metric.split('.');
  return keys.at(-1) === 'passed' ? keys.slice(-2).join('_') : (keys.at(-1) ?? metric);
}

function metricAt(metrics: unknown, path: string): number | null {
  let node: unknown = metrics;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !(key in node)) return null;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'number' && Number.isFinite(node) ? node : null;
}

function formatMetrics(metrics: Record<string, unknown> | undefined): string {
  return LISTED_METRICS.map(
    (m) => [`${m.startsWith('production.') ? 'engine ' : ''}${shortName(m)}`, metricAt(metrics, m)] as const,
  )
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v!.toPrecision(4)}`)
    .join(' ');
}

/** `charades models list | use | rollback | verify | vocabulary`. */
export function registerModelsCommands(program: Command): void {
  const models = program.command('models').description('the model registry: installed versions and which one is live');
  registerVocabularyCommand(models);
  const dirOf = (cmd: Command) => modelsDirOf(cmd.opts<{ models?: string }>());
  const sub = (name: string) =>
    models.command(name).option('--models <dir>', 'registry folder (default CHARADES_MODELS or models/)');

  sub('list')
    .description('installed versions, the live one marked with *')
    .option('--json', 'machine-readable')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const dir = dirOf(cmd);
      const versions = listVersions(dir);
      if (opts.json) return print(JSON.stringify({ registry: dir, live: liveVersion(dir), versions }, null, 1));
      if (versions.length === 0) return print(`no model versions in ${dir}`);
      for (const v of versions)
        print(
          `${v.live ? '*' : ' '} ${v.version}  ${v.created ?? ''}  ${v.problem ? `BROKEN: ${v.problem}` : formatMetrics(v.metrics)}`,
        );
    });

  sub('use')
    .argument('<version>')
    .description('verify VERSION and make it live')
    .action(async (version: string, _opts: unknown, cmd: Command) => {
      const r = await useVersion(dirOf(cmd), version, { loadOnnx: true });
      print(`${r.version} is live (was ${r.previous ?? 'none'})`);
    });

  sub('rollback')
    .description('make the previously live version live again')
    .action(async (_opts: unknown, cmd: Command) => {
      const r = await rollback(dirOf(cmd));
      for (const s of r.skipped) print(`skipped ${s}`);
      print(`${r.version} is live again (was ${r.previous ?? 'none'})`);
    });

  sub('verify')
    .argument('[version]', 'default: the live version')
    .option('--no-load', 'skip loading the ONNX files in onnxruntime')
    .description('check a version: manifest, sha256 of every file, ONNX headers, IO names, text encoder')
    .action(async (version: string | undefined, opts: { load: boolean }, cmd: Command) => {
      const dir = dirOf(cmd);
      const name = version ?? liveVersion(dir);
      if (!name) throw new Error(`no live version in ${dir}; name one: charades models verify VERSION`);
      const r = await verifyVersion(resolve(dir, name), { loadOnnx: opts.load });
      if (r.ok) return print(`${name}: ok`);
      for (const e of r.errors) print(`${name}: ${e}`);
      process.exitCode = 1;
    });
}

/** The training paraphrases in this checkout (written by the trainer's maintainers; absent is fine). */
const DEFAULT_PARAPHRASES = DEFAULT_PARAPHRASES_FILE;

interface VocabularyOptions {
  models?: string;
  data: string[];
  paraphrases?: string;
  annotations?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function vocabularyAction(version: string | undefined, opts: VocabularyOptions): Promise<void> {
  const config = loadConfig();
  const registry = resolve(opts.models ?? config.modelsDir);
  const chosen = version ?? liveVersion(registry);
  if (!chosen) throw new Error(`no VERSION given and no LIVE model in ${registry}`);
  const modelDir = join(registry, chosen);
  if (!existsSync(modelDir)) throw new Error(`no model version ${chosen} in ${registry}`);
  const dataDirs = (opts.data.length ? opts.data : [config.motionDataDir]).map((d) => resolve(d));
  const annotations = opts.annotations ?? join(dataDirs[0], 'annotations', 'action-gpt-k4.jsonl');
  const encoder = await sharedSentenceEncoder();
  const t0 = performance.now();
  const { file, bytes } = await writeVocabulary({
    modelDir,
    encoder,
    dataDirs,
    paraphrases: opts.paraphrases ?? DEFAULT_PARAPHRASES,
    annotations,
  });
  const counts = ['label', 'text', 'paraphrase', 'action-gpt'].map((k) => `${file.sources[k]} ${k}`).join(', ');
  process.stdout.write(
    `wrote the vocabulary of ${chosen}: ${file.entries.length} entries (${counts}), ${(bytes / 1048576).toFixed(2)} MiB, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}

/** Adds `vocabulary` to the `models` command. */
function registerVocabularyCommand(models: Command): void {
  models
    .command('vocabulary')
    .argument('[version]', 'model version (default: the LIVE one)')
    .description(
      "write a version's vocabulary (texts, labels, paraphrases, Action-GPT descriptions + embeddings) for the agent's grounding",
    )
    .option('--models <dir>', 'registry folder (default CHARADES_MODELS or models/)')
    .option(
      '--data <dir>',
      'a data pack the model was trained on; repeat for several (default CHARADES_DATA)',
      collect,
      [],
    )
    .option(
      '--paraphrases <file>',
      `training paraphrases, "phrases" only (default ${DEFAULT_PARAPHRASES}; absent = none)`,
    )
    .option(
      '--annotations <file>',
      'Action-GPT descriptions JSONL (default: annotations/action-gpt-k4.jsonl of the first --data)',
    )
    .action((version: string | undefined, opts: VocabularyOptions) => vocabularyAction(version, opts));
}
