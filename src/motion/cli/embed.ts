/** `charades embed`: writes the embedding table the trainer reads (docs/data-contract.md). */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultCacheDir, defaultDataDir, requireDataDir } from '../paths.js';
import { buildEmbeddingTable, loadSentenceEncoder, readExtraTexts, writeEmbeddingTable } from '../text/index.js';

export interface EmbedOptions {
  out?: string;
  texts?: string;
  data?: string;
  annotations?: string;
  encoder?: string;
  quiet?: boolean;
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
  const dataDir = requireDataDir(resolve(opts.data ?? defaultDataDir()));
  const annotationsPath = resolve(opts.annotations ?? join(dataDir, 'annotations', 'action-gpt-k4.jsonl'));
  const extraTexts = opts.texts ? readExtraTexts(resolve(opts.texts)) : undefined;
  const encoder = await loadSentenceEncoder(opts.encoder);
  try {
    const table = await buildEmbeddingTable({ indexPath: join(dataDir, 'index.jsonl'), annotationsPath, extraTexts }, encoder, (p) => {
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
    .description('Embed every dataset text, label and Action-GPT description with the frozen text encoder (table for the trainer)')
    .option('--out <dir>', 'output folder (default .cache/embeddings/<encoder id>/)')
    .option('--texts <file>', 'extra texts to include: one per line, or a JSON array (.json)')
    .option('--data <dir>', 'motion data folder (default ../shared/data/motion or CHARADES_DATA)')
    .option('--annotations <file>', 'Action-GPT descriptions (default <data>/annotations/action-gpt-k4.jsonl)')
    .option('--encoder <spec>', 'use | use:/folder | onnx:/folder (default CHARADES_TEXT_ENCODER or use)')
    .option('--quiet', 'no progress on stderr')
    .action(async (opts: EmbedOptions) => {
      const summary = await runEmbed(opts);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    });
}
