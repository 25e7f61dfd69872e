/**
 * What a training job trains on. The trainer reads only a features cache (docs/data-contract.md), and the one
 * featurizer lives in TypeScript, so the cache for a `--data` folder is built here, never in Python.
 * Packed Charades data (`index.jsonl` + positions) is supported; BVH and HumanML3D folders are recognised and
 * refused with what is missing, because they carry no texts, splits or embeddings the trainer could use.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FEATURES_META, defaultFeatureCacheDir, featureCacheStaleReasons, readFeatureCache, writeFeatureCache } from '../../motion/featureCache.js';
import { INDEX_FILE } from '../../motion/dataset.js';

export type DataFormat = 'packed' | 'bvh' | 'humanml3d' | 'unknown';

function hasFileEnding(dir: string, ending: string, depth = 2): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    if (e.isFile() && e.name.toLowerCase().endsWith(ending)) return true;
    if (e.isDirectory() && depth > 0 && hasFileEnding(join(dir, e.name), ending, depth - 1)) return true;
  }
  return false;
}

export function detectDataFormat(dir: string): DataFormat {
  if (existsSync(join(dir, INDEX_FILE))) return 'packed';
  if (existsSync(join(dir, 'new_joints')) || hasFileEnding(dir, '.npy', 0)) return 'humanml3d';
  if (hasFileEnding(dir, '.bvh')) return 'bvh';
  return 'unknown';
}

const UNSUPPORTED: Record<Exclude<DataFormat, 'packed'>, string> = {
  bvh: 'a BVH folder: training needs it packed first (index.jsonl with a text, split and license per clip, positions_mm.i16), and there is no BVH-folder importer yet; convert single files with `charades convert` and pack them, then run `charades embed` for their texts',
  humanml3d: 'a HumanML3D new_joints folder: training needs it packed first (index.jsonl with the texts/*.txt sentences and the train/val/test split files, positions_mm.i16), and there is no HumanML3D importer yet; then run `charades embed` for its texts',
  unknown: 'not a motion data folder (no index.jsonl, no BVH files, no new_joints/*.npy)',
};

/** Checks `--data` folders when a job is enqueued, so a bad folder fails at once rather than in the worker. */
export function checkTrainingData(dirs: readonly string[]): string[] {
  if (dirs.length > 1) {
    throw new Error(`one --data folder per training job (got ${dirs.length}): the features cache, its normalisation statistics and the splits come from one packed dataset; merge the folders into one packed dataset first`);
  }
  return dirs.map((d) => {
    const dir = resolve(d);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--data ${d}: no such folder`);
    const format = detectDataFormat(dir);
    if (format !== 'packed') throw new Error(`--data ${d}: ${UNSUPPORTED[format]}`);
    return dir;
  });
}

function cacheIsCurrent(cacheDir: string, dataDir: string): boolean {
  try {
    return featureCacheStaleReasons(readFeatureCache(cacheDir).meta, dataDir).length === 0;
  } catch {
    return false; // a damaged cache (a crash mid-write) is simply rebuilt
  }
}

export interface PreparedData {
  cacheDir: string;
  /** What was done, for the job log. */
  note: string;
}

/**
 * The features cache for a job: with no data folder, the default cache (which must exist); with one, a cache
 * built into the job folder, rebuilt only when the data or the featurizer changed since (resume reuses it).
 */
export function prepareFeatureCache(dataDirs: readonly string[], jobCacheDir: string, defaultCache: string = defaultFeatureCacheDir()): PreparedData {
  const dirs = checkTrainingData(dataDirs);
  if (dirs.length === 0) {
    if (!existsSync(join(defaultCache, FEATURES_META))) {
      throw new Error(`no features cache at ${defaultCache}; build it with \`charades data features\` or pass --data DIR`);
    }
    return { cacheDir: defaultCache, note: `features cache ${defaultCache}` };
  }
  const dataDir = dirs[0];
  if (existsSync(join(jobCacheDir, FEATURES_META))) {
    if (cacheIsCurrent(jobCacheDir, dataDir)) return { cacheDir: jobCacheDir, note: `features cache ${jobCacheDir} is current for ${dataDir}` };
  }
  const written = writeFeatureCache({ dataDir, outDir: jobCacheDir });
  return { cacheDir: jobCacheDir, note: `built features cache for ${dataDir}: ${written.clips} clips, ${written.frames} frames` };
}
