/**
 * Pose pinning: the GPT's control tokens only pull a motion toward a given pose, so users who asked to start,
 * end or pass through a pose would see a near miss. Pinning edits the decoded joints so every controlled frame
 * shows the pose, as a displacement map (the motion's own detail rides on top of a smooth offset):
 *
 * - in the body's facing frame at each frame, x/z relative to the pelvis and heights absolute (the `ric` part of
 *   the feature layout, which is also what the control tokens encode), so the body does not spin toward the pose's
 *   world facing and the root's horizontal trajectory is untouched; the pelvis height is pinned with the rest;
 * - the offset needed at the controlled frame fades out with a raised cosine over `falloffFrames` each side (short
 *   enough to leave the motion its own, long enough that the added velocity stays small: a 1-frame pin is a jerk);
 * - bone lengths are restored afterwards, parent to child, to the lengths the generated frame had;
 * - a held pin (`holdUntil`) shows the pose on every frame of its span (a body lying down for the rest of a
 *   segment, not only at its last frame), fading in before and out after it. Each held frame gets its own offset:
 *   one offset moved linearly across the span put the pelvis under the floor where the motion beneath went down
 *   by itself part-way.
 */
import { headingAngles, wrapAngle } from '../features.js';
import { NUM_JOINTS, PARENTS, boneLength } from '../skeleton.js';

const POS = NUM_JOINTS * 3;
/** 0.4 s at 20 fps: within the 0.3–0.5 s that keeps the pin's added velocity below the motion's own. */
export const DEFAULT_PIN_FALLOFF_FRAMES = 8;

export interface Pin {
  /** Frame of the motion that must show the pose. */
  frame: number;
  /** 22×3 global joint positions of the pose (its horizontal place does not matter). */
  joints: Float32Array;
  /**
   * 'motion' (default): the body keeps the facing it has at that frame (a named pose faces +Z by convention
   * only). 'pose': the body also turns, with the same falloff, to face where the pose faces (a frame of an
   * earlier motion or an uploaded pose, whose facing is part of what was asked).
   */
  facing?: 'motion' | 'pose';
  /** Frames over which this pin fades out on each side, instead of the call's `falloffFrames`. */
  falloffFrames?: number;
  /** Hold the pose from `frame` to this later frame (inclusive), fading in before and out after the span. */
  holdUntil?: number;
}

export interface PinOptions {
  /** Frames over which the pin fades out on each side (default DEFAULT_PIN_FALLOFF_FRAMES). */
  falloffFrames?: number;
}

/** Root-relative joints in the facing frame of `heading`: x/z rotated about the pelvis, y kept absolute. */
function toFacingFrame(joints: Float32Array, offset: number, heading: number, out: Float64Array): void {
  const c = Math.cos(heading);
  const s = Math.sin(heading);
  const rx = joints[offset];
  const rz = joints[offset + 2];
  for (let j = 0; j < NUM_JOINTS; j++) {
    const px = joints[offset + j * 3] - rx;
    const pz = joints[offset + j * 3 + 2] - rz;
    out[j * 3] = px * c - pz * s;
    out[j * 3 + 1] = joints[offset + j * 3 + 1];
    out[j * 3 + 2] = px * s + pz * c;
  }
}

/** Raised cosine: 1 at distance 0, 0 from `radius` on, zero slope at both ends. */
export function raisedCosine(distance: number, radius: number): number {
  if (radius <= 0) return distance === 0 ? 1 : 0;
  const d = Math.abs(distance);
  return d >= radius ? 0 : 0.5 * (1 + Math.cos((Math.PI * d) / radius));
}

/** First and last frame a pin shows its pose on. */
const spanOf = (p: Pin): [number, number] => [p.frame, p.holdUntil ?? p.frame];

/**
 * Falloff radius per pin: at most the requested one, and short enough that neighbouring pins' windows do not
 * overlap (each controlled frame then keeps weight 1 from its own pin and 0 from the others, so it is hit exactly).
 */
function radii(spans: [number, number][], falloffs: number[]): number[] {
  return spans.map(([a, b], i) => {
    const gaps = [i > 0 ? a - spans[i - 1][1] : Infinity, i + 1 < spans.length ? spans[i + 1][0] - b : Infinity];
    return Math.max(0, Math.min(falloffs[i], Math.floor(Math.min(...gaps) / 2)));
  });
}

function checkPins(pins: readonly Pin[], T: number): void {
  for (const [i, p] of pins.entries()) {
    if (!(Number.isInteger(p.frame) && p.frame >= 0 && p.frame < T))
      throw new Error(`pinPoses: pin ${i} is at frame ${p.frame}, outside the motion's 0…${T - 1}`);
    if (p.joints.length !== POS)
      throw new Error(`pinPoses: pin ${i} has ${p.joints.length} values, expected ${NUM_JOINTS}×3`);
    if (p.holdUntil !== undefined && !(Number.isInteger(p.holdUntil) && p.holdUntil >= p.frame && p.holdUntil < T))
      throw new Error(`pinPoses: pin ${i} holds until frame ${p.holdUntil}, outside its frame ${p.frame}…${T - 1}`);
  }
  const spans = pins.map(spanOf).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++)
    if (spans[i][0] <= spans[i - 1][1] && spans[i][0] !== spans[i - 1][0])
      throw new Error(
        `pinPoses: a pin at frame ${spans[i][0]} falls inside another pin's hold (${spans[i - 1].join('…')})`,
      );
}

/**
 * Bones of frame t in `joints` set, parent before child, to the generated frame's lengths blended toward the
 * pose's by the pin weight: the linear blend of positions shortens bones in between, and at the pinned frame
 * the pose itself (already on the model's body) is what must come out.
 */
function restoreBoneLengths(
  joints: Float32Array,
  reference: Float32Array,
  t: number,
  pose: Float32Array,
  w: number,
): void {
  const o = t * POS;
  for (let j = 1; j < NUM_JOINTS; j++) {
    const p = PARENTS[j];
    const want = (1 - w) * boneLength(reference, j, o) + w * boneLength(pose, j);
    const dx = joints[o + j * 3] - joints[o + p * 3];
    const dy = joints[o + j * 3 + 1] - joints[o + p * 3 + 1];
    const dz = joints[o + j * 3 + 2] - joints[o + p * 3 + 2];
    const have = Math.hypot(dx, dy, dz);
    if (have < 1e-9) continue;
    const k = want / have;
    // Children were moved with their parent's old position; moving the subtree keeps their own bones intact.
    const shift = [dx * (k - 1), dy * (k - 1), dz * (k - 1)];
    for (let c = j; c < NUM_JOINTS; c++) {
      if (!isInSubtree(c, j)) continue;
      for (let a = 0; a < 3; a++) joints[o + c * 3 + a] += shift[a];
    }
  }
}

/**
 * Turns frame `o`'s body about the vertical through its pelvis so its heading grows by `delta` (the heading
 * convention of features.ts: facing-frame x/z = R(θ)·world, so world = R(θ)ᵀ·facing).
 */
function rotateAboutPelvis(joints: Float32Array, o: number, delta: number): void {
  const rx = joints[o];
  const rz = joints[o + 2];
  // R(θ+δ)ᵀ·R(θ) = R(δ)ᵀ: x' = x·cos δ + z·sin δ, z' = −x·sin δ + z·cos δ.
  const c = Math.cos(delta);
  const s = Math.sin(delta);
  for (let j = 1; j < NUM_JOINTS; j++) {
    const x = joints[o + j * 3] - rx;
    const z = joints[o + j * 3 + 2] - rz;
    joints[o + j * 3] = rx + x * c + z * s;
    joints[o + j * 3 + 2] = rz - x * s + z * c;
  }
}

function isInSubtree(joint: number, root: number): boolean {
  for (let j = joint; j >= 0; j = PARENTS[j]) if (j === root) return true;
  return false;
}

/**
 * Pins each pose at its frame (see the module comment). Returns new joints; the input is not changed.
 * Pins are applied in frame order; a later pin at the same frame wins.
 */
export function pinPoses(
  joints: Float32Array,
  T: number,
  pins: readonly Pin[],
  options: PinOptions = {},
): Float32Array<ArrayBuffer> {
  if (joints.length !== T * POS)
    throw new Error(`pinPoses: joints has ${joints.length} values, expected ${T}×${NUM_JOINTS}×3`);
  checkPins(pins, T);
  const out = Float32Array.from(joints);
  if (pins.length === 0) return out;
  const falloff = (p: Pin) => {
    const f = p.falloffFrames ?? options.falloffFrames ?? DEFAULT_PIN_FALLOFF_FRAMES;
    if (!(Number.isInteger(f) && f >= 0))
      throw new Error(`pinPoses: falloffFrames must be a whole number ≥ 0, got ${f}`);
    return f;
  };
  const byFrame = new Map<number, Pin>();
  for (const p of pins) byFrame.set(p.frame, p);
  const sorted = [...byFrame.values()].sort((a, b) => a.frame - b.frame);
  const spans = sorted.map(spanOf);
  const radius = radii(spans, sorted.map(falloff));
  const heading = headingAngles(joints, T);
  const generated = new Float64Array(POS);
  const wanted = new Float64Array(POS);
  // Offset (facing frame) a pin needs at frame t, and the turn toward its own facing ('pose').
  const offsetAt = (p: Pin, t: number) => {
    toFacingFrame(joints, t * POS, heading[t], generated);
    toFacingFrame(p.joints, 0, headingAngles(p.joints, 1)[0], wanted);
    return wanted.map((w, k) => w - generated[k]);
  };
  const turnAt = (p: Pin, t: number) =>
    p.facing === 'pose' ? wrapAngle(headingAngles(p.joints, 1)[0] - heading[t]) : 0;
  // Frame → (pin, weight) of the pin acting there (windows do not overlap, see radii).
  const touched = new Map<number, { pin: number; w: number }>();
  sorted.forEach((p, i) => {
    const r = radius[i];
    const [a, b] = spans[i];
    const [offA, offB] = [offsetAt(p, a), offsetAt(p, b)];
    for (let t = Math.max(0, a - r); t <= Math.min(T - 1, b + r); t++) {
      // inside the span the pose itself; outside, the offset of the nearer end fading out
      const w = t < a ? raisedCosine(t - a, r) : t > b ? raisedCosine(t - b, r) : 1;
      if (w === 0) continue;
      const offset = t <= a ? offA : t >= b ? offB : offsetAt(p, t);
      const turn = turnAt(p, Math.min(b, Math.max(a, t)));
      // Offsets are facing-frame values: adding them with the heading turned by w·turn also turns the body.
      const c = Math.cos(heading[t] + w * turn);
      const sn = Math.sin(heading[t] + w * turn);
      const o = t * POS;
      if (turn !== 0) rotateAboutPelvis(out, o, w * turn);
      for (let j = 0; j < NUM_JOINTS; j++) {
        const [dx, dy, dz] = [offset[j * 3] * w, offset[j * 3 + 1] * w, offset[j * 3 + 2] * w];
        // Inverse of the facing rotation (the pelvis's x/z offsets are zero, so the root stays on its path).
        out[o + j * 3] += dx * c + dz * sn;
        out[o + j * 3 + 1] += dy;
        out[o + j * 3 + 2] += -dx * sn + dz * c;
      }
      touched.set(t, { pin: i, w });
    }
  });
  for (const [t, { pin, w }] of touched) restoreBoneLengths(out, joints, t, sorted[pin].joints, w);
  return out;
}
