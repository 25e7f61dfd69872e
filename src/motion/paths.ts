import { existsSync } from 'node:fs';
import { delimiter, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { activeConfig } from '../config/active.js';

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

/** The motion pack used when nothing is configured: ../shared/data/motion. */
export const CHECKOUT_DATA_DIR = resolve(SHARED_DATA, 'motion');

/** The derived-files cache when nothing is configured: .cache/ in the checkout. */
export function checkoutCacheDir(): string {
  return resolve(REPO_ROOT, '.cache');
}

/** The model registry when nothing is configured: models/ in the checkout. */
export function checkoutModelsDir(): string {
  return resolve(REPO_ROOT, 'models');
}

/**
 * The motion packs the configuration names (CHARADES_DATA or the config file's `motionDataDir`, installed by the
 * CLI: src/config/active.ts), or null when it names none. The checkout's default folder counts as none, so the
 * default packs below apply to it.
 */
function configuredDataDirs(): string[] | null {
  const value = activeConfig()?.motionDataDir;
  if (!value || resolve(value) === CHECKOUT_DATA_DIR) return null;
  const dirs = splitDataDirs(value);
  return dirs.length > 0 ? dirs : null;
}

/** The motion data folder: the configured one (its first pack when it names several), else ../shared/data/motion. */
export function defaultDataDir(): string {
  return defaultDataDirs()[0];
}

/** Every pack the configuration names, else ../shared/data/motion alone. */
export function defaultDataDirs(): string[] {
  return configuredDataDirs() ?? [CHECKOUT_DATA_DIR];
}

/**
 * Every pack worth describing or embedding: the configured packs when set, else the training packs plus the
 * external test pack (its texts are embedded and its clips evaluated; none of its motion is trained on).
 */
export function defaultAllDataDirs(): string[] {
  const configured = configuredDataDirs();
  if (configured) return configured;
  const external = resolve(SHARED_DATA, EXTERNAL_TEST_PACK);
  return [...defaultTrainingDataDirs(), ...(existsSync(resolve(external, 'index.jsonl')) ? [external] : [])];
}

/** The packs a training run reads by default: the configured packs when set, else the default training packs. */
export function defaultTrainingDataDirs(): string[] {
  const configured = configuredDataDirs();
  if (configured) return configured;
  return DEFAULT_TRAINING_PACKS.map((p) => resolve(SHARED_DATA, p)).filter((d) =>
    existsSync(resolve(d, 'index.jsonl')),
  );
}

/** Where derived, re-creatable files go (feature caches, embedding tables): the configured cache (CHARADES_CACHE) or .cache/. */
export function defaultCacheDir(): string {
  return activeConfig()?.cacheDir ?? checkoutCacheDir();
}

/** The model registry: the configured one (CHARADES_MODELS) or models/ in the checkout. */
export function defaultModelsDir(): string {
  return activeConfig()?.modelsDir ?? checkoutModelsDir();
}

export function requireDataDir(dir: string): string {
  if (!existsSync(resolve(dir, 'index.jsonl'))) {
    throw new Error(`no motion data at ${dir} (index.jsonl missing); pass --data DIR or set CHARADES_DATA`);
  }
  return dir;
}
