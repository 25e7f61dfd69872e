/**
 * The features cache (docs/data-contract.md): every clip of the packed data (one or several packs) featurised with features.ts
 * (`features.f16`, float16 LE [frames, 71], clips in index order, not normalised) plus `features.json`
 * (layout, train-split mean/std, mirror perm/sign, clip table, provenance hashes). It is how the Python
 * trainer gets the one feature layout without a second implementation.
 */
import { sha256Hex } from './hash.js';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { decodeFloat16, encodeFloat16, openDataset, SPLITS } from './dataset.js';
import type { Dataset } from './dataset.js';
import {
  computeNormStats,
  DEFAULT_STD_FLOOR,
  FEATURE_DIM,
  FEATURE_LAYOUT,
  FEATURE_MIRROR,
  FEATURE_SLICES,
  featurize,
} from './features.js';
import { defaultCacheDir, defaultTrainingDataDirs, splitDataDirs } from './paths.js';
import { activeLimbs } from './limbs.js';
import { FPS } from './skeleton.js';

export const FEATURES_BIN = 'features.f16';
export const FEATURES_META = 'features.json';

/** Folder name of the cache for the current layout: `charades-ric71/1` → `charades-ric71-1`. */
export const FEATURE_CACHE_NAME = FEATURE_LAYOUT.replace(/[^A-Za-z0-9_.-]+/g, '-');

export function defaultFeatureCacheDir(): string {
  return join(defaultCacheDir(), 'features', FEATURE_CACHE_NAME);
}

const SliceSchema = z.tuple([z.number().int(), z.number().int()]);

export const FeatureCacheClipSchema = z.object({
  id: z.string(),
  split: z.enum(SPLITS),
  dataset: z.string(),
  license: z.string().optional(),
  /** The pack (data folder name) the clip came from; the trainer filters and balances by it. */
  pack: z.string().optional(),
  /** The hand / foot the motion mainly uses (limbs.ts): the side of one-sided actions whose label names none. */
  limbs: z
    .object({ hand: z.enum(['left', 'right']).nullable(), foot: z.enum(['left', 'right']).nullable() })
    .optional(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().positive(),
  action_labels: z.array(z.string()),
  style: z.string(),
  texts: z.array(z.string()),
});
export type FeatureCacheClip = z.infer<typeof FeatureCacheClipSchema>;

export const FeatureCacheMetaSchema = z.object({
  layout: z.string(),
  dim: z.number().int().positive(),
  fps: z.number().positive(),
  frames: z.number().int().nonnegative(),
  slices: z.record(z.string(), SliceSchema),
  mean: z.array(z.number()),
  std: z.array(z.number().positive()),
  stdFloor: z.number().positive().optional(),
  statsSplit: z.string().optional(),
  statsFrames: z.number().int().optional(),
  mirror: z.object({ perm: z.array(z.number().int()), sign: z.array(z.number()) }),
  clips: z.array(FeatureCacheClipSchema),
  source: z.object({ dataDir: z.string(), indexSha256: z.string(), dataDirs: z.array(z.string()).optional() }),
  featurizerSha256: z.string(),
  created: z.string().optional(),
});
export type FeatureCacheMeta = z.infer<typeof FeatureCacheMetaSchema>;

export { sha256Hex };

/** sha256 of features.ts's source: a cache built by another version of the featurizer is detectably stale. */
export function featurizerSha256(): string {
  const file = fileURLToPath(new URL('./features.ts', import.meta.url));
  if (!existsSync(file)) throw new Error(`cannot hash the featurizer: ${file} is missing`);
  return sha256Hex(readFileSync(file));
}

export interface FeatureCacheBuild {
  meta: FeatureCacheMeta;
  /** float16 bits, [meta.frames, dim]. */
  features: Uint16Array;
}

/** Featurises every clip of the dataset (float16) and computes the train-split normalisation statistics. */
export function buildFeatureCache(ds: Dataset, opts: { stdFloor?: number } = {}): FeatureCacheBuild {
  const frames = ds.records.reduce((s, r) => s + r.num_frames - 1, 0);
  const features = new Uint16Array(frames * FEATURE_DIM);
  const trainFeatures: Float32Array[] = [];
  const clips: FeatureCacheClip[] = [];
  let offset = 0;
  for (const r of ds.records) {
    const length = r.num_frames - 1;
    const positions = ds.positions(r);
    const f = featurize(positions, r.num_frames);
    encodeFloat16(f, features.subarray(offset * FEATURE_DIM, (offset + length) * FEATURE_DIM));
    if (r.split === 'train') trainFeatures.push(f);
    clips.push({
      id: r.id,
      split: r.split,
      dataset: r.dataset,
      license: r.license,
      pack: ds.packOf(r),
      limbs: activeLimbs(positions, r.num_frames),
      offset,
      length,
      action_labels: r.action_labels,
      style: r.style,
      texts: r.texts,
    });
    offset += length;
  }
  if (trainFeatures.length === 0)
    throw new Error(`${ds.dir}: the dataset has no train clips to compute normalisation statistics from`);
  const stdFloor = opts.stdFloor ?? DEFAULT_STD_FLOOR;
  const stats = computeNormStats(trainFeatures, { stdFloor });
  const meta: FeatureCacheMeta = {
    layout: FEATURE_LAYOUT,
    dim: FEATURE_DIM,
    fps: FPS,
    frames,
    slices: Object.fromEntries(Object.entries(FEATURE_SLICES).map(([k, v]) => [k, [v[0], v[1]]])),
    mean: stats.mean,
    std: stats.std,
    stdFloor,
    statsSplit: 'train',
    statsFrames: stats.frames,
    mirror: { perm: [...FEATURE_MIRROR.perm], sign: [...FEATURE_MIRROR.sign] },
    clips,
    source: {
      dataDir: resolve(ds.dir),
      indexSha256: sha256Hex(ds.indexBytes),
      dataDirs: ds.packs.map((p) => resolve(p.dir)),
    },
    featurizerSha256: featurizerSha256(),
    created: new Date().toISOString(),
  };
  return { meta, features };
}

/** Writes next to the target and renames, so a reader never sees half a cache. */
function writeAtomically(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

export interface FeatureCacheWriteResult {
  dir: string;
  frames: number;
  clips: number;
  binBytes: number;
  metaBytes: number;
}

export function writeFeatureCache(
  opts: { dataDir?: string | readonly string[]; outDir?: string; stdFloor?: number; dataset?: Dataset } = {},
): FeatureCacheWriteResult {
  const ds = opts.dataset ?? openDataset(opts.dataDir ?? defaultTrainingDataDirs());
  const outDir = opts.outDir ?? defaultFeatureCacheDir();
  const { meta, features } = buildFeatureCache(ds, { stdFloor: opts.stdFloor });
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create the features cache folder ${outDir}: ${(err as Error).message}`, { cause: err });
  }
  const bin = new Uint8Array(features.buffer, features.byteOffset, features.byteLength);
  const json = JSON.stringify(meta);
  // The binary first: features.json is what readers look for, so it appears only once the data is complete.
  writeAtomically(join(outDir, FEATURES_BIN), bin);
  writeAtomically(join(outDir, FEATURES_META), json);
  return {
    dir: outDir,
    frames: meta.frames,
    clips: meta.clips.length,
    binBytes: bin.byteLength,
    metaBytes: Buffer.byteLength(json),
  };
}

export interface FeatureCache {
  dir: string;
  meta: FeatureCacheMeta;
  /** float16 bits of all clips, [frames, dim] (zero-copy over the file's bytes). */
  bits: Uint16Array;
  /** One clip's features decoded to float32, [length, dim]. */
  clipFeatures(idOrIndex: string | number): Float32Array<ArrayBuffer>;
}

function checkMetaConsistency(meta: FeatureCacheMeta, file: string): void {
  if (meta.layout !== FEATURE_LAYOUT)
    throw new Error(`${file}: layout is "${meta.layout}", this build reads "${FEATURE_LAYOUT}"`);
  if (meta.dim !== FEATURE_DIM)
    throw new Error(`${file}: dim is ${meta.dim}, layout ${FEATURE_LAYOUT} has ${FEATURE_DIM}`);
  for (const key of ['mean', 'std'] as const) {
    if (meta[key].length !== meta.dim)
      throw new Error(`${file}: ${key} has ${meta[key].length} values, expected ${meta.dim}`);
  }
  if (meta.mirror.perm.length !== meta.dim || meta.mirror.sign.length !== meta.dim) {
    throw new Error(`${file}: mirror.perm/sign must have ${meta.dim} entries each`);
  }
  let expected = 0;
  for (const c of meta.clips) {
    if (c.offset !== expected)
      throw new Error(`${file}: clip ${c.id} starts at frame ${c.offset}, expected ${expected}`);
    expected += c.length;
  }
  if (expected !== meta.frames) throw new Error(`${file}: clips cover ${expected} frames but frames is ${meta.frames}`);
}

/** Reads and validates a features cache folder. */
export function readFeatureCache(dir: string = defaultFeatureCacheDir()): FeatureCache {
  const metaFile = join(dir, FEATURES_META);
  const binFile = join(dir, FEATURES_BIN);
  if (!existsSync(metaFile))
    throw new Error(`no features cache at ${dir} (${FEATURES_META} missing); run: charades data features --out ${dir}`);
  if (!existsSync(binFile)) throw new Error(`${binFile} is missing; rebuild with: charades data features --out ${dir}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(metaFile, 'utf8'));
  } catch (err) {
    throw new Error(`${metaFile}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = FeatureCacheMetaSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `${metaFile}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'root'}: ${i.message}`).join('; ')}`,
    );
  }
  const meta = parsed.data;
  checkMetaConsistency(meta, metaFile);
  const wantBytes = meta.frames * meta.dim * 2;
  const size = statSync(binFile).size;
  if (size !== wantBytes) {
    throw new Error(
      `${binFile} has ${size} bytes, ${FEATURES_META} describes ${meta.frames}×${meta.dim} float16 = ${wantBytes} bytes`,
    );
  }
  const buf = readFileSync(binFile);
  // A copy only when Node handed back an odd-aligned slice of its pool; a fresh large read is aligned.
  const bits =
    buf.byteOffset % 2 === 0
      ? new Uint16Array(buf.buffer, buf.byteOffset, size / 2)
      : new Uint16Array(new Uint8Array(buf).buffer);
  const index = new Map(meta.clips.map((c, i) => [c.id, i]));
  const clipFeatures = (idOrIndex: string | number): Float32Array<ArrayBuffer> => {
    const i = typeof idOrIndex === 'number' ? idOrIndex : index.get(idOrIndex);
    const c = i === undefined ? undefined : meta.clips[i];
    if (!c)
      throw new Error(
        `clip ${JSON.stringify(idOrIndex)} is not in the features cache ${dir} (${meta.clips.length} clips)`,
      );
    return decodeFloat16(bits.subarray(c.offset * meta.dim, (c.offset + c.length) * meta.dim));
  };
  return { dir, meta, bits, clipFeatures };
}

/** Why a cache no longer matches this featurizer or that data (empty when it is current). */
export function featureCacheStaleReasons(meta: FeatureCacheMeta, dataDir?: string | readonly string[]): string[] {
  const reasons: string[] = [];
  if (meta.featurizerSha256 !== featurizerSha256()) reasons.push('features.ts changed since the cache was written');
  if (dataDir !== undefined) {
    const dirs = typeof dataDir === 'string' ? splitDataDirs(dataDir) : [...dataDir];
    const indexFiles = dirs.map((d) => join(d, 'index.jsonl'));
    const missing = indexFiles.filter((f) => !existsSync(f));
    if (missing.length > 0) reasons.push(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`);
    else if (sha256Hex(Buffer.concat(indexFiles.map((f) => readFileSync(f)))) !== meta.source.indexSha256) {
      reasons.push(
        `${indexFiles.length === 1 ? indexFiles[0] : `the indexes of ${dirs.join(', ')}`} changed since the cache was written`,
      );
    }
  }
  return reasons;
}
