/**
 * Edits of whole motions that keep positions, rotations, rest offsets and segments consistent:
 * resampling / retiming, left-right mirroring, slicing, concatenation, translation and floor alignment.
 */
import { makeMotion } from './contracts.js';
import type { Motion, MotionSegment } from './contracts.js';
import { quatSlerp } from './kinematics.js';
import { FOOT_JOINTS, MIRROR, NUM_JOINTS } from './skeleton.js';

type Offsets = NonNullable<Motion['restOffsets']>;

const POS = NUM_JOINTS * 3;
const ROT = NUM_JOINTS * 4;

function checkPositions(joints: Float32Array, numFrames: number, what: string): void {
  if (!Number.isInteger(numFrames) || numFrames < 0)
    throw new Error(`${what}: frame count must be a non-negative integer, got ${numFrames}`);
  if (joints.length !== numFrames * POS) {
    throw new Error(
      `${what}: joints has ${joints.length} values, expected ${numFrames}×${NUM_JOINTS}×3 = ${numFrames * POS}`,
    );
  }
}

function checkFps(fps: number, what: string): void {
  if (!(Number.isFinite(fps) && fps > 0)) throw new Error(`${what}: fps must be a positive number, got ${fps}`);
}

// ---------------------------------------------------------------- resampling

/**
 * Frames at toFps for a clip of numFrames at fromFps. A clip lasts numFrames / fps (as the data's duration_s
 * does), so the count scales with the rate and a 20 → 30 → 20 fps round trip gets its frame count back.
 */
export function resampledFrameCount(numFrames: number, fromFps: number, toFps: number): number {
  if (numFrames === 0) return 0;
  return Math.max(1, Math.round((numFrames * toFps) / fromFps));
}

/** Source frame position (integer part, fraction) of output frame i; times past the last frame hold it. */
function sourcePosition(i: number, numFrames: number, fromFps: number, toFps: number): [number, number] {
  const s = Math.min((i * fromFps) / toFps, numFrames - 1);
  const i0 = Math.min(Math.floor(s), Math.max(numFrames - 2, 0));
  return [i0, s - i0];
}

/** Linear resampling of T×22×3 positions from one frame rate to another over the same duration. */
export function resamplePositions(
  joints: Float32Array,
  numFrames: number,
  fromFps: number,
  toFps: number,
): { joints: Float32Array<ArrayBuffer>; numFrames: number } {
  checkPositions(joints, numFrames, 'resamplePositions');
  checkFps(fromFps, 'resamplePositions (from)');
  checkFps(toFps, 'resamplePositions (to)');
  const outFrames = resampledFrameCount(numFrames, fromFps, toFps);
  const out = new Float32Array(outFrames * POS);
  if (numFrames === 1) out.set(joints);
  for (let i = 0; numFrames > 1 && i < outFrames; i++) {
    const [i0, f] = sourcePosition(i, numFrames, fromFps, toFps);
    const a = i0 * POS;
    const b = a + POS;
    for (let k = 0; k < POS; k++) out[i * POS + k] = joints[a + k] + (joints[b + k] - joints[a + k]) * f;
  }
  return { joints: out, numFrames: outFrames };
}

function resampleRotations(
  rotations: Float32Array,
  numFrames: number,
  fromFps: number,
  toFps: number,
  outFrames: number,
): Float32Array<ArrayBuffer> {
  const out = new Float32Array(outFrames * ROT);
  if (numFrames === 1) out.set(rotations);
  for (let i = 0; numFrames > 1 && i < outFrames; i++) {
    const [i0, f] = sourcePosition(i, numFrames, fromFps, toFps);
    for (let j = 0; j < NUM_JOINTS; j++) {
      const a = i0 * ROT + j * 4;
      const q = quatSlerp(rotations.subarray(a, a + 4), rotations.subarray(a + ROT, a + ROT + 4), f);
      out.set(q, i * ROT + j * 4);
    }
  }
  return out;
}

function scaleSegments(segments: readonly MotionSegment[], ratio: number, numFrames: number): MotionSegment[] {
  return segments.map((s) => {
    const start = Math.min(Math.round(s.start * ratio), numFrames);
    return { text: s.text, start, end: Math.max(start, Math.min(Math.round(s.end * ratio), numFrames)) };
  });
}

/** Resamples a motion to `fps` (positions linearly, rotations by slerp); segments keep their times. */
export function resampleMotion(motion: Motion, fps: number): Motion {
  checkFps(fps, 'resampleMotion');
  if (fps === motion.fps) return motion;
  const { joints, numFrames } = resamplePositions(motion.joints, motion.numFrames, motion.fps, fps);
  return makeMotion({
    ...motion,
    fps,
    numFrames,
    joints,
    rotations: motion.rotations && resampleRotations(motion.rotations, motion.numFrames, motion.fps, fps, numFrames),
    segments: scaleSegments(motion.segments, fps / motion.fps, numFrames),
  });
}

/** Plays a motion `speed` times as fast at the same frame rate (0.5 = twice as long). */
export function retimeMotion(motion: Motion, speed: number): Motion {
  if (!(Number.isFinite(speed) && speed > 0))
    throw new Error(`retimeMotion: speed must be a positive number, got ${speed}`);
  if (speed === 1) return motion;
  // Pretending the frames were captured `speed` times faster, then resampling back to the real rate.
  return resampleMotion({ ...motion, fps: motion.fps * speed }, motion.fps);
}

// ---------------------------------------------------------------- mirroring

/** Reflects positions through the x = 0 plane and swaps left and right joints. */
export function mirrorPositions(joints: Float32Array, numFrames: number): Float32Array<ArrayBuffer> {
  checkPositions(joints, numFrames, 'mirrorPositions');
  const out = new Float32Array(joints.length);
  for (let t = 0; t < numFrames; t++) {
    for (let j = 0; j < NUM_JOINTS; j++) {
      const dst = t * POS + j * 3;
      const src = t * POS + MIRROR[j] * 3;
      out[dst] = -joints[src];
      out[dst + 1] = joints[src + 1];
      out[dst + 2] = joints[src + 2];
    }
  }
  return out;
}

/**
 * Mirrors local rotations to match mirrorPositions: conjugating a rotation by the reflection diag(−1, 1, 1)
 * maps quaternion (w, x, y, z) to (w, x, −y, −z), and each joint takes its mirror partner's rotation.
 */
export function mirrorRotations(rotations: Float32Array, numFrames: number): Float32Array<ArrayBuffer> {
  if (rotations.length !== numFrames * ROT) {
    throw new Error(
      `mirrorRotations: rotations has ${rotations.length} values, expected ${numFrames}×${NUM_JOINTS}×4 = ${numFrames * ROT}`,
    );
  }
  const out = new Float32Array(rotations.length);
  for (let t = 0; t < numFrames; t++) {
    for (let j = 0; j < NUM_JOINTS; j++) {
      const dst = t * ROT + j * 4;
      const src = t * ROT + MIRROR[j] * 4;
      out[dst] = rotations[src];
      out[dst + 1] = rotations[src + 1];
      out[dst + 2] = -rotations[src + 2];
      out[dst + 3] = -rotations[src + 3];
    }
  }
  return out;
}

export function mirrorRestOffsets(offsets: Offsets): Offsets {
  return offsets.map((_, j) => {
    const o = offsets[MIRROR[j]];
    return [-o[0], o[1], o[2]] as [number, number, number];
  });
}

/** The same motion performed with the other side of the body, reflected through x = 0. */
export function mirrorMotion(motion: Motion): Motion {
  return makeMotion({
    ...motion,
    joints: mirrorPositions(motion.joints, motion.numFrames),
    rotations: motion.rotations && mirrorRotations(motion.rotations, motion.numFrames),
    restOffsets: motion.restOffsets && mirrorRestOffsets(motion.restOffsets),
  });
}

// ---------------------------------------------------------------- slicing and joining

/** Frames [start, end) of a motion; segments are clipped to the range and shifted. */
export function sliceMotion(motion: Motion, start: number, end: number = motion.numFrames): Motion {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > motion.numFrames || start >= end) {
    throw new Error(`sliceMotion: frames ${start}–${end} are not a non-empty range within 0–${motion.numFrames}`);
  }
  const segments = motion.segments
    .filter((s) => s.end > start && s.start < end)
    .map((s) => ({ text: s.text, start: Math.max(s.start, start) - start, end: Math.min(s.end, end) - start }));
  return makeMotion({
    ...motion,
    numFrames: end - start,
    joints: motion.joints.slice(start * POS, end * POS),
    rotations: motion.rotations?.slice(start * ROT, end * ROT),
    segments,
  });
}

function sameOffsets(a: Offsets | undefined, b: Offsets | undefined): boolean {
  if (!a || !b) return false;
  return a.every((o, j) => o.every((v, k) => Math.abs(v - b[j][k]) < 1e-6));
}

/**
 * Motions one after another. All must share one fps. Rotations are kept only when every part has them over
 * the same rest skeleton (otherwise they would describe different bodies); positions are always kept.
 */
export function concatMotions(motions: readonly Motion[]): Motion {
  if (motions.length === 0) throw new Error('concatMotions: no motions to join');
  const fps = motions[0].fps;
  const bad = motions.findIndex((m) => m.fps !== fps);
  if (bad >= 0)
    throw new Error(`concatMotions: motion ${bad} is ${motions[bad].fps} fps, motion 0 is ${fps} fps; resample first`);
  const numFrames = motions.reduce((s, m) => s + m.numFrames, 0);
  const joints = new Float32Array(numFrames * POS);
  const restOffsets = motions[0].restOffsets;
  const keepRotations = motions.every((m) => m.rotations && sameOffsets(m.restOffsets, restOffsets));
  const rotations = keepRotations ? new Float32Array(numFrames * ROT) : undefined;
  const segments: MotionSegment[] = [];
  let at = 0;
  for (const m of motions) {
    joints.set(m.joints, at * POS);
    if (rotations && m.rotations) rotations.set(m.rotations, at * ROT);
    for (const s of m.segments) segments.push({ text: s.text, start: s.start + at, end: s.end + at });
    at += m.numFrames;
  }
  return makeMotion({
    fps,
    numFrames,
    joints,
    rotations,
    restOffsets: keepRotations ? restOffsets : undefined,
    segments,
    provenance: { ...motions[0].provenance, source: motions.map((m) => m.provenance.source).join(' + ') },
  });
}

// ---------------------------------------------------------------- placement

/** Moves every joint by `offset` (metres); rotations are unaffected. */
export function translateMotion(motion: Motion, offset: readonly [number, number, number]): Motion {
  if (!offset.every(Number.isFinite))
    throw new Error(`translateMotion: offset must be 3 finite numbers, got [${offset.join(', ')}]`);
  const joints = new Float32Array(motion.joints.length);
  for (let i = 0; i < joints.length; i += 3) {
    joints[i] = motion.joints[i] + offset[0];
    joints[i + 1] = motion.joints[i + 1] + offset[1];
    joints[i + 2] = motion.joints[i + 2] + offset[2];
  }
  return makeMotion({ ...motion, joints });
}

/**
 * Height of the lowest foot joint centre above the floor in the data (README: median 0.042 m per clip):
 * joint centres sit above the sole, so a foot planted on the floor has its joints this high.
 */
export const FOOT_JOINT_CLEARANCE = 0.042;

/** Lowest height any foot joint (ankles, balls of the feet) reaches over the whole motion. */
export function lowestFootHeight(joints: Float32Array, numFrames: number): number {
  checkPositions(joints, numFrames, 'lowestFootHeight');
  let lowest = Infinity;
  for (let t = 0; t < numFrames; t++) {
    for (const j of Object.values(FOOT_JOINTS)) lowest = Math.min(lowest, joints[t * POS + j * 3 + 1]);
  }
  return lowest;
}

/** Shifts a motion vertically so its lowest foot joint is `clearance` above the floor (y = 0). */
export function alignToFloor(motion: Motion, clearance: number = FOOT_JOINT_CLEARANCE): Motion {
  if (motion.numFrames === 0) throw new Error('alignToFloor: the motion has no frames');
  return translateMotion(motion, [0, clearance - lowestFootHeight(motion.joints, motion.numFrames), 0]);
}

/** Moves a motion horizontally so the pelvis of frame 0 is at x = z = 0 (height unchanged). */
export function centerMotion(motion: Motion): Motion {
  if (motion.numFrames === 0) throw new Error('centerMotion: the motion has no frames');
  return translateMotion(motion, [-motion.joints[0], 0, -motion.joints[2]]);
}
