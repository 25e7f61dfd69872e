/**
 * Checks a Motion before it reaches Chromium, so bad input fails with a sentence that names the field
 * instead of a black video or a WebGL error deep inside the page.
 */
import { JOINT_NAMES, NUM_JOINTS } from '../motion/index.js';
import type { Motion } from '../motion/index.js';

export const RENDER_LIMITS = {
  /** Longer clips would take minutes and break Discord's 8 MB inline limit; a minute is ample for a reply. */
  maxSeconds: 60,
  /** Metres from the origin; beyond this the data is in the wrong unit (millimetres) or corrupt. */
  maxAbsCoordinate: 1000,
} as const;

export class RenderInputError extends Error {
  override name = 'RenderInputError';
}

/** Throws a RenderInputError naming `label` and the first problem found. */
export function validateMotion(motion: Motion, label = 'motion', maxSeconds: number = RENDER_LIMITS.maxSeconds): void {
  if (!(motion.joints instanceof Float32Array))
    throw new RenderInputError(`${label}.joints must be a Float32Array (T×22×3 metres)`);
  if (!Number.isFinite(motion.fps) || motion.fps <= 0)
    throw new RenderInputError(`${label}.fps must be a positive number, got ${motion.fps}`);
  if (!Number.isInteger(motion.numFrames) || motion.numFrames < 0) {
    throw new RenderInputError(`${label}.numFrames must be a whole number ≥ 0, got ${motion.numFrames}`);
  }
  if (motion.numFrames === 0) throw new RenderInputError(`${label} has 0 frames; there is nothing to render`);
  const expected = motion.numFrames * NUM_JOINTS * 3;
  if (motion.joints.length !== expected) {
    throw new RenderInputError(
      `${label}.joints has ${motion.joints.length} values; ${motion.numFrames} frames × ${NUM_JOINTS} joints × 3 = ${expected}`,
    );
  }
  const seconds = motion.numFrames / motion.fps;
  if (seconds > maxSeconds + 1e-9) {
    throw new RenderInputError(
      `${label} is ${seconds.toFixed(1)} s long (${motion.numFrames} frames at ${motion.fps} fps); the renderer's limit is ${maxSeconds} s — trim it or split it`,
    );
  }
  const j = motion.joints;
  for (let i = 0; i < j.length; i++) {
    const v = j[i];
    if (!Number.isFinite(v) || Math.abs(v) > RENDER_LIMITS.maxAbsCoordinate) {
      const frame = Math.floor(i / (NUM_JOINTS * 3));
      const joint = Math.floor(i / 3) % NUM_JOINTS;
      const axis = 'xyz'[i % 3];
      const what = Number.isFinite(v)
        ? `${v} m is implausibly far (limit ±${RENDER_LIMITS.maxAbsCoordinate} m; are the units millimetres?)`
        : `is ${v}`;
      throw new RenderInputError(
        `${label}.joints at frame ${frame}, joint ${joint} (${JOINT_NAMES[joint]}), ${axis} ${what}`,
      );
    }
  }
}
