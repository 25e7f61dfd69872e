/**
 * `charades models vocabulary [VERSION]`: writes a model version's vocabulary (what it was taught to act, with
 * text embeddings; see src/motion/vocabulary.ts) so the agent can ground requests in it. Run it for every new
 * version: the agent reads the LIVE version's vocabulary.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { liveVersion } from '../../motion/registry.js';
import { sharedSentenceEncoder } from '../../motion/text/config.js';
import { writeVocabulary } from '../../motion/vocabulary.js';

/** The training paraphrases in this checkout (written by the trainer's maintainers; absent is fine). */
export const DEFAULT_PARAPHRASES = fileURLToPath(new URL('../../../trainer/paraphrases.json', import.meta.url));

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
  const { file, bytes } = await writeVocabulary({ modelDir, encoder, dataDirs, paraphrases: opts.paraphrases ?? DEFAULT_PARAPHRASES, annotations });
  const counts = ['label', 'text', 'paraphrase', 'action-gpt'].map((k) => `${file.sources[k]} ${k}`).join(', ');
  process.stdout.write(`wrote the vocabulary of ${chosen}: ${file.entries.length} entries (${counts}), ${(bytes / 1048576).toFixed(2)} MiB, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

/** Adds `vocabulary` to the `models` command. */
export function registerVocabularyCommand(models: Command): void {
  models.command('vocabulary').argument('[version]', 'model version (default: the LIVE one)')
    .description("write a version's vocabulary (texts, labels, paraphrases, Action-GPT descriptions + embeddings) for the agent's grounding")
    .option('--models <dir>', 'registry folder (default CHARADES_MODELS or models/)')
    .option('--data <dir>', 'a data pack the model was trained on; repeat for several (default CHARADES_DATA)', collect, [])
    .option('--paraphrases <file>', `training paraphrases, "phrases" only (default ${DEFAULT_PARAPHRASES}; absent = none)`)
    .option('--annotations <file>', 'Action-GPT descriptions JSONL (default: annotations/action-gpt-k4.jsonl of the first --data)')
    .action((version: string | undefined, opts: VocabularyOptions) => vocabularyAction(version, opts));
}
