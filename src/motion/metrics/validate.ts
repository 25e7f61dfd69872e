import { NUM_JOINTS } from '../skeleton.js';

/**
 * Checks that `joints` really holds T×22×3 finite numbers and that fps is usable, so every metric fails
 * with a message naming the argument instead of returning NaN or reading past the end.
 */
export function checkJoints(name: string, joints: Float32Array, T: number, minFrames = 1): void {
  if (!(joints instanceof Float32Array)) throw new Error(`${name}: expected a Float32Array of joint positions`);
  if (!Number.isInteger(T) || T < 0) throw new Error(`${name}: frame count T must be a non-negative integer, got ${T}`);
  const expected = T * NUM_JOINTS * 3;
  if (joints.length !== expected) {
    throw new Error(`${name}: expected T×${NUM_JOINTS}×3 = ${expected} values for T=${T}, got ${joints.length}`);
  }
  if (T < minFrames) throw new Error(`${name}: needs at least ${minFrames} frames, got ${T}`);
  for (let i = 0; i < joints.length; i++) {
    if (!Number.isFinite(joints[i])) {
      const frame = Math.floor(i / (NUM_JOINTS * 3));
      const joint = Math.floor(i / 3) % NUM_JOINTS;
      throw new Error(`${name}: non-finite value ${joints[i]} at frame ${frame}, joint ${joint}`);
    }
  }
}

export function checkFps(fps: number): void {
  if (!Number.isFinite(fps) || fps <= 0) throw new Error(`fps must be a positive number, got ${fps}`);
}

/** Index of coordinate c of joint j at frame t in a T×22×3 array. */
export function at(t: number, j: number, c = 0): number {
  return (t * NUM_JOINTS + j) * 3 + c;
}
