import { existsSync } from 'node:fs';
import { delimiter, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json lives), found from this file so it works from any cwd. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared data packs beside the checkout (../shared/data/<pack>). */
export const SHARED_DATA = resolve(REPO_ROOT, '..', 'shared', 'data');

/**
 * The packs the default model trains on: motion (Bandai-Namco CC BY-NC 4.0 + ACCAD CC BY 3.0) and CMU (free use).
 * HDM05 (CC BY-SA 3.0) is ShareAlike and cannot go into a NonCommercial model, so it is the external test set.
 */
export const DEFAULT_TRAINING_PACKS = ['motion', 'cmu'] as const;
export const EXTERNAL_TEST_PACK = 'hdm05';

/** "a,b" or "a:b" (the platform's delimiter) → ["a", "b"]; how CHARADES_DATA and --data name several packs. */
export function splitDataDirs(value: string): string[] {
  return value
    .split(new RegExp(`[,${delimiter === ';' ? ';' : ':'}]`))
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

/** The motion data folder: CHARADES_DATA (its first pack when it names several), else ../shared/data/motion. */
export function defaultDataDir(): string {
  return defaultDataDirs()[0];
}

/** Every pack CHARADES_DATA names, else ../shared/data/motion alone. */
export function defaultDataDirs(): string[] {
  const env = process.env.CHARADES_DATA;
  const dirs = env ? splitDataDirs(env) : [];
  return dirs.length > 0 ? dirs : [resolve(SHARED_DATA, 'motion')];
}

/**
 * Every pack worth describing or embedding: CHARADES_DATA when set, else the training packs plus the external test
 * pack (its texts are embedded and its clips evaluated; none of its motion is trained on).
 */
export function defaultAllDataDirs(): string[] {
  if (process.env.CHARADES_DATA) return defaultDataDirs();
  const external = resolve(SHARED_DATA, EXTERNAL_TEST_PACK);
  return [...defaultTrainingDataDirs(), ...(existsSync(resolve(external, 'index.jsonl')) ? [external] : [])];
}

/** The packs a training run reads by default: CHARADES_DATA when set, else the default training packs. */
export function defaultTrainingDataDirs(): string[] {
  if (process.env.CHARADES_DATA) return defaultDataDirs();
  return DEFAULT_TRAINING_PACKS.map((p) => resolve(SHARED_DATA, p)).filter((d) => existsSync(resolve(d, 'index.jsonl')));
}

/** Where derived, re-creatable files go (feature caches, embedding tables): CHARADES_CACHE or .cache/. */
export function defaultCacheDir(): string {
  return process.env.CHARADES_CACHE ?? resolve(REPO_ROOT, '.cache');
}

/** The model registry: CHARADES_MODELS or models/ in the checkout. */
export function defaultModelsDir(): string {
  return process.env.CHARADES_MODELS ?? resolve(REPO_ROOT, 'models');
}

export function requireDataDir(dir: string): string {
  if (!existsSync(resolve(dir, 'index.jsonl'))) {
    throw new Error(`no motion data at ${dir} (index.jsonl missing); pass --data DIR or set CHARADES_DATA`);
  }
  return dir;
}
