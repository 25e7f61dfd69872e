/**
 * Which hand or foot a motion mainly uses. Some data labels name no side although their clips are one-sided
 * ("a person kicks." kicks with the right foot); training tells those sides apart only if the side is read from
 * the motion itself. Also what side checks on generated motions use.
 */
import { JOINT, NUM_JOINTS } from './skeleton.js';

export type LimbSide = 'left' | 'right';

export interface ActiveLimbs {
  /** The hand that reaches clearly further from the pelvis (a punch, a slash), or null when both do alike. */
  hand: LimbSide | null;
  /** The foot that rises clearly higher (a kick), or null. */
  foot: LimbSide | null;
}

/** One limb must beat the other by this factor and by this many metres to count as "the" limb. */
const DOMINANCE_RATIO = 1.5;
const DOMINANCE_MIN_M = 0.15;

/** Furthest horizontal distance of a joint from the pelvis over the clip, metres. */
export function maxReach(joints: ArrayLike<number>, frames: number, joint: number): number {
  let best = 0;
  for (let t = 0; t < frames; t++) {
    const p = t * NUM_JOINTS * 3;
    best = Math.max(best, Math.hypot(joints[p + joint * 3] - joints[p], joints[p + joint * 3 + 2] - joints[p + 2]));
  }
  return best;
}

/** Height range of a joint over the clip (highest minus lowest), metres. */
export function heightRange(joints: ArrayLike<number>, frames: number, joint: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let t = 0; t < frames; t++) {
    const y = joints[t * NUM_JOINTS * 3 + joint * 3 + 1];
    lo = Math.min(lo, y);
    hi = Math.max(hi, y);
  }
  return frames > 0 ? hi - lo : 0;
}

function dominant(left: number, right: number): LimbSide | null {
  if (left >= right * DOMINANCE_RATIO && left - right >= DOMINANCE_MIN_M) return 'left';
  if (right >= left * DOMINANCE_RATIO && right - left >= DOMINANCE_MIN_M) return 'right';
  return null;
}

/** The hand and foot a clip mainly uses (T×22×3 metres, Y up). */
export function activeLimbs(joints: ArrayLike<number>, frames: number): ActiveLimbs {
  return {
    hand: dominant(maxReach(joints, frames, JOINT.left_wrist), maxReach(joints, frames, JOINT.right_wrist)),
    foot: dominant(heightRange(joints, frames, JOINT.left_ankle), heightRange(joints, frames, JOINT.right_ankle)),
  };
}
