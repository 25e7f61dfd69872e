import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json lives), found from this file so it works from any cwd. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The motion data folder: CHARADES_DATA, else ../shared/data/motion beside the checkout. */
export function defaultDataDir(): string {
  return process.env.CHARADES_DATA ?? resolve(REPO_ROOT, '..', 'shared', 'data', 'motion');
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
