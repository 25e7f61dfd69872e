/**
 * Shared pieces of the renderer tests: real dataset clips and the output folder for inspected frames.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Motion } from '../../src/motion/contracts.js';
import { openDataset } from '../../src/motion/dataset.js';
import type { Dataset } from '../../src/motion/dataset.js';
import { REPO_ROOT } from '../../src/motion/paths.js';

let dataset: Dataset | null = null;

/** A dataset clip as a Motion (fails loudly when the shared data is missing). */
export function clip(id: string): Motion {
  dataset ??= openDataset();
  return dataset.clip(id);
}

/** The first clip id with this action label (and style, when given). */
export function clipWithLabel(label: string, style?: string): string {
  dataset ??= openDataset();
  const r = dataset.records.find((x) => x.action_labels.includes(label) && (!style || x.style === style));
  if (!r) throw new Error(`no clip labelled ${label}${style ? ` / ${style}` : ''} in ${dataset.dir}`);
  return r.id;
}

/** The first `seconds` of a motion (its segments clipped to match). */
export function trim(m: Motion, seconds: number): Motion {
  const n = Math.min(m.numFrames, Math.round(seconds * m.fps));
  return {
    ...m,
    numFrames: n,
    joints: m.joints.slice(0, n * 66),
    rotations: undefined,
    segments: m.segments.map((s) => ({ ...s, start: Math.min(s.start, n), end: Math.min(s.end, n) })),
  };
}

export const OUT_DIR = join(REPO_ROOT, 'bench', 'out');
export function outDir(): string {
  mkdirSync(OUT_DIR, { recursive: true });
  return OUT_DIR;
}
