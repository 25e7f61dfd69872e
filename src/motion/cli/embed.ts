/** `charades embed`: writes the embedding table the trainer reads (docs/data-contract.md). */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultAllDataDirs, defaultCacheDir, requireDataDir, splitDataDirs } from '../paths.js';
import {
  DEFAULT_PARAPHRASES_FILE,
  buildEmbeddingTable,
  loadSentenceEncoder,
  paraphrasesSha256,
  readExtraTexts,
  readParaphrases,
  writeEmbeddingTable,
} from '../text/index.js';

export interface EmbedOptions {
  out?: string;
  texts?: string;
  data?: string;
  annotations?: string;
  paraphrases?: string | false;
  encoder?: string;
  quiet?: boolean;
}

/** The packs whose texts go into the table: --data, else every pack (the external one's texts too, for evaluation). */
function tablePacks(data: string | undefined): string[] {
  return data ? splitDataDirs(data) : defaultAllDataDirs();
}

export interface EmbedSummary {
  encoder: string;
  dim: number;
  rows: number;
  bytes: number;
  seconds: number;
  out: string;
}

export async function runEmbed(opts: EmbedOptions): Promise<EmbedSummary> {
  const started = performance.now();
  const dataDirs = tablePacks(opts.data).map((d) => requireDataDir(resolve(d)));
  const annotationsPath = resolve(opts.annotations ?? join(dataDirs[0], 'annotations', 'action-gpt-k4.jsonl'));
  const extraTexts = opts.texts ? readExtraTexts(resolve(opts.texts)) : undefined;
  const paraphrasesPath =
    opts.paraphrases === false ? undefined : resolve(opts.paraphrases ?? DEFAULT_PARAPHRASES_FILE);
  const paraphrases = paraphrasesPath
    ? { file: readParaphrases(paraphrasesPath), sha256: paraphrasesSha256(paraphrasesPath) }
    : undefined;
  const encoder = await loadSentenceEncoder(opts.encoder);
  try {
    const indexPath = dataDirs.map((d) => join(d, 'index.jsonl'));
    const table = await buildEmbeddingTable({ indexPath, annotationsPath, extraTexts, paraphrases }, encoder, (p) => {
      if (!opts.quiet) process.stderr.write(`\rembedding ${p.done}/${p.total}`);
    });
    if (!opts.quiet) process.stderr.write('\n');
    const out = resolve(opts.out ?? join(defaultCacheDir(), 'embeddings', encoder.id));
    const { binPath, jsonPath } = await writeEmbeddingTable(out, table);
    return {
      encoder: encoder.id,
      dim: encoder.dim,
      rows: table.texts.length,
      bytes: statSync(binPath).size + statSync(jsonPath).size,
      seconds: (performance.now() - started) / 1000,
      out,
    };
  } finally {
    await encoder.close();
  }
}

export function registerEmbedCommand(program: Command): void {
  program
    .command('embed')
    .description(
      'Embed every dataset text, label and Action-GPT description with the frozen text encoder (table for the trainer)',
    )
    .option('--out <dir>', 'output folder (default .cache/embeddings/<encoder id>/)')
    .option('--texts <file>', 'extra texts to include: one per line, or a JSON array (.json)')
    .option(
      '--data <dirs>',
      'motion data packs, comma-separated (default CHARADES_DATA, else motion, cmu and hdm05 from ../shared/data)',
    )
    .option('--annotations <file>', 'Action-GPT descriptions (default <first pack>/annotations/action-gpt-k4.jsonl)')
    .option('--paraphrases <file>', 'paraphrase sets (default trainer/paraphrases.json)')
    .option('--no-paraphrases', 'leave the paraphrase sets out')
    .option('--encoder <spec>', 'use | use:/folder | onnx:/folder (default CHARADES_TEXT_ENCODER or use)')
    .option('--quiet', 'no progress on stderr')
    .action(async (opts: EmbedOptions) => {
      const summary = await runEmbed(opts);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    });
}
