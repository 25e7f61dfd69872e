/**
 * From decoded model features to a finished Motion: features → joints (the single `recoverJoints`), floor
 * alignment, pose pinning (pin.ts: controlled frames show their poses), foot-contact clean-up (planted feet
 * locked, the leg re-solved by two-bone IK), export rotations solved from the joints, and speed changes that
 * keep planted feet still.
 */
import { estimateRestOffsets } from '../bvh.js';
import { makeMotion, type Motion, type MotionSegment, type Provenance } from '../contracts.js';
import { CONTACT_JOINTS, FEATURE_DIM, FEATURE_SLICES, recoverJoints, type RecoverOptions } from '../features.js';
import { rotationsFromJoints } from '../kinematics.js';
import { FOOT_JOINTS, NUM_JOINTS } from '../skeleton.js';
import { FOOT_JOINT_CLEARANCE, lowestFootHeight, retimeMotion } from '../transforms.js';
import { pinPoses, type Pin } from './pin.js';

const POS = NUM_JOINTS * 3;

/** Left and right leg chains: hip → knee → ankle → ball of the foot. */
export const LEGS = [
  { hip: 1, knee: 4, ankle: FOOT_JOINTS.leftAnkle, ball: FOOT_JOINTS.leftFoot },
  { hip: 2, knee: 5, ankle: FOOT_JOINTS.rightAnkle, ball: FOOT_JOINTS.rightFoot },
] as const;

/** Per frame and contact joint (CONTACT_JOINTS order: left ankle, left ball, right ankle, right ball): planted or not. */
export function contactsFromFeatures(features: Float32Array, numFeatureFrames: number): Uint8Array {
  const [c0] = FEATURE_SLICES.contacts;
  const out = new Uint8Array(numFeatureFrames * CONTACT_JOINTS.length);
  for (let t = 0; t < numFeatureFrames; t++) {
    for (let i = 0; i < CONTACT_JOINTS.length; i++)
      out[t * CONTACT_JOINTS.length + i] = features[t * FEATURE_DIM + c0 + i] > 0.5 ? 1 : 0;
  }
  return out;
}

type V3 = [number, number, number];

function get(j: Float32Array, t: number, k: number): V3 {
  const o = t * POS + k * 3;
  return [j[o], j[o + 1], j[o + 2]];
}
function put(j: Float32Array, t: number, k: number, v: V3): void {
  const o = t * POS + k * 3;
  j[o] = v[0];
  j[o + 1] = v[1];
  j[o + 2] = v[2];
}
const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const add = (a: V3, b: V3): V3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const scale = (a: V3, s: number): V3 => [a[0] * s, a[1] * s, a[2] * s];
const dot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const len = (a: V3): number => Math.hypot(a[0], a[1], a[2]);

/**
 * Naive analytic two-bone IK: the knee that keeps both bone lengths and puts the ankle as close to `target`
 * as they reach, bending in the plane of the original knee (so the knee keeps pointing where it did).
 */
export function twoBoneIk(hip: V3, knee: V3, ankle: V3, target: V3): { knee: V3; ankle: V3 } {
  const l1 = len(sub(knee, hip));
  const l2 = len(sub(ankle, knee));
  const toTarget = sub(target, hip);
  const dRaw = len(toTarget);
  if (dRaw < 1e-9) return { knee, ankle };
  const d = Math.min(Math.max(dRaw, Math.abs(l1 - l2) + 1e-6), l1 + l2 - 1e-6);
  const u = scale(toTarget, 1 / dRaw);
  const a = (l1 * l1 - l2 * l2 + d * d) / (2 * d);
  const r = Math.sqrt(Math.max(l1 * l1 - a * a, 0));
  const kh = sub(knee, hip);
  let n = sub(kh, scale(u, dot(kh, u)));
  if (len(n) < 1e-9) n = Math.abs(u[1]) < 0.9 ? [0, 1, 0] : [0, 0, 1];
  n = scale(n, 1 / len(n));
  const newKnee = add(add(hip, scale(u, a)), scale(n, r));
  return { knee: newKnee, ankle: add(hip, scale(u, d)) };
}

/** Contact runs [start, end) of at least `minLength` frames. */
function runs(flags: (t: number) => boolean, T: number, minLength: number): [number, number][] {
  const out: [number, number][] = [];
  let s = -1;
  for (let t = 0; t <= T; t++) {
    const on = t < T && flags(t);
    if (on && s < 0) s = t;
    if (!on && s >= 0) {
      if (t - s >= minLength) out.push([s, t]);
      s = -1;
    }
  }
  return out;
}

export interface FootCleanupOptions {
  /** Frames over which a lock fades in before and out after a contact run (default 3). */
  blend?: number;
  /** Shortest run treated as a plant (default 2 frames). */
  minRun?: number;
  /**
   * Frames whose pose was pinned: a contact run holding one is locked where the foot is at that frame rather
   * than where the run began, so the lock keeps the pinned pose instead of undoing it.
   */
  anchorFrames?: readonly number[];
}

/**
 * Where a planted joint is held during the run [start, end): its mean position over the run (decoded feet
 * drift slowly while planted; holding them where the run began moved legs by up to 48 cm and cost 0.06 top-3
 * R-precision on the test split, the mean halves the drift and costs 0.01); with pinned frames in
 * the run, where the pinned pose puts it (between two pins the pins disagree, and moving from one to the
 * other is what was asked, so the hold slides linearly between them).
 */
function runAnchor(
  joints: Float32Array,
  joint: number,
  start: number,
  end: number,
  pins: readonly number[],
): (t: number) => V3 {
  if (pins.length === 0) {
    let fixed: V3 = [0, 0, 0];
    for (let t = start; t < end; t++) fixed = add(fixed, get(joints, t, joint));
    fixed = scale(fixed, 1 / (end - start));
    return () => fixed;
  }
  const frames = [...pins].sort((a, b) => a - b);
  const spots = frames.map((f) => get(joints, f, joint));
  return (t) => {
    if (t <= frames[0]) return spots[0];
    const i = frames.findIndex((f) => f >= t);
    if (i < 0) return spots[spots.length - 1];
    const u = (t - frames[i - 1]) / (frames[i] - frames[i - 1]);
    return add(spots[i - 1], scale(sub(spots[i], spots[i - 1]), u));
  };
}

/**
 * Where each contact joint should be: during a run, held at the run's anchor (a planted foot does not
 * move); near a run, eased toward that spot. Returns per-frame offsets (target − current), T×3 per joint.
 */
function lockOffsets(
  joints: Float32Array,
  T: number,
  joint: number,
  planted: (t: number) => boolean,
  opts: Required<FootCleanupOptions>,
): { delta: Float64Array; locked: Uint8Array } {
  const delta = new Float64Array(T * 3);
  const weight = new Float64Array(T);
  const locked = new Uint8Array(T);
  for (const [s, e] of runs(planted, T, opts.minRun)) {
    const anchor = runAnchor(
      joints,
      joint,
      s,
      e,
      opts.anchorFrames.filter((f) => f >= s && f < e),
    );
    const apply = (t: number, w: number): void => {
      if (w <= weight[t]) return;
      weight[t] = w;
      const d = sub(anchor(Math.min(Math.max(t, s), e - 1)), get(joints, t, joint));
      delta.set(scale(d, w), t * 3);
    };
    for (let t = s; t < e; t++) {
      apply(t, 1);
      locked[t] = 1;
    }
    for (let k = 1; k <= opts.blend; k++) {
      const w = 1 - k / (opts.blend + 1);
      if (s - k >= 0) apply(s - k, w);
      if (e - 1 + k < T) apply(e - 1 + k, w);
    }
  }
  return { delta, locked };
}

/**
 * Locks planted feet: each ankle and ball of the foot stays at its run's anchor (runAnchor); the leg follows by
 * two-bone IK from the (unchanged) hip; the ball keeps its bone length to the ankle. Contacts are the model's
 * own contact channels, per frame, in CONTACT_JOINTS order.
 */
export function cleanFootContacts(
  joints: Float32Array,
  T: number,
  contacts: Uint8Array,
  options: FootCleanupOptions = {},
): Float32Array<ArrayBuffer> {
  if (joints.length !== T * POS)
    throw new Error(`cleanFootContacts: joints has ${joints.length} values, expected ${T}×${NUM_JOINTS}×3`);
  if (contacts.length !== T * CONTACT_JOINTS.length)
    throw new Error(
      `cleanFootContacts: contacts has ${contacts.length} values, expected ${T}×${CONTACT_JOINTS.length}`,
    );
  const opts = { blend: options.blend ?? 3, minRun: options.minRun ?? 2, anchorFrames: options.anchorFrames ?? [] };
  const out = Float32Array.from(joints);
  LEGS.forEach((leg, side) => {
    const ankleCh = side * 2;
    const ballCh = side * 2 + 1;
    const A = lockOffsets(joints, T, leg.ankle, (t) => contacts[t * 4 + ankleCh] === 1, opts);
    const B = lockOffsets(joints, T, leg.ball, (t) => contacts[t * 4 + ballCh] === 1, opts);
    for (let t = 0; t < T; t++) {
      const dA: V3 = [A.delta[t * 3], A.delta[t * 3 + 1], A.delta[t * 3 + 2]];
      const dB: V3 = [B.delta[t * 3], B.delta[t * 3 + 1], B.delta[t * 3 + 2]];
      if (len(dA) === 0 && len(dB) === 0) continue;
      const ankle = get(joints, t, leg.ankle);
      const ball = get(joints, t, leg.ball);
      // With only the ball planted (heel rising) the whole foot moves with the ball.
      const ankleTarget = add(ankle, A.locked[t] || len(dA) > 0 ? dA : dB);
      const ballTarget = add(ball, B.locked[t] || len(dB) > 0 ? dB : dA);
      const solved = twoBoneIk(get(joints, t, leg.hip), get(joints, t, leg.knee), ankle, ankleTarget);
      const footBone = len(sub(ball, ankle));
      const dir = sub(ballTarget, solved.ankle);
      const newBall = len(dir) > 1e-9 ? add(solved.ankle, scale(dir, footBone / len(dir))) : ball;
      put(out, t, leg.knee, solved.knee);
      put(out, t, leg.ankle, solved.ankle);
      put(out, t, leg.ball, newBall);
    }
  });
  return out;
}

/** Vertical shift so the lowest foot joint over the clip sits at planted-foot height (whole clip, no per-frame jitter). */
export function alignJointsToFloor(joints: Float32Array<ArrayBuffer>, T: number): Float32Array<ArrayBuffer> {
  shiftToFloor(joints, joints, T);
  return joints;
}

/** Shifts all of `joints` vertically so the lowest foot joint of `reference` (T frames) sits at planted-foot height. */
function shiftToFloor(joints: Float32Array, reference: Float32Array, T: number): void {
  const dy = FOOT_JOINT_CLEARANCE - lowestFootHeight(reference, T);
  for (let i = 1; i < joints.length; i += 3) joints[i] += dy;
}

export interface FinishOptions {
  recover?: RecoverOptions;
  segments?: MotionSegment[];
  provenance?: Provenance;
  /** Playback speed (1 = as generated). */
  speed?: number;
  /** Skip the foot clean-up (for measuring it). */
  footCleanup?: boolean;
  /** Poses the motion must show at given frames (counted before `dropFrames`); applied before the foot clean-up. */
  pins?: readonly Pin[];
  /** Keep the height the features say instead of aligning to the floor (continuations keep their past's floor). */
  floorAlign?: boolean;
  /**
   * Leading frames that re-decode a given past (continuations): they place the motion and give the foot
   * clean-up its context, then are dropped. Segments count from after them.
   */
  dropFrames?: number;
}

/** Rest offsets fitted to the motion's own bones, and the rotations that reproduce its joints on them. */
export function attachRotations(motion: Motion): Motion {
  const restOffsets = estimateRestOffsets(motion.joints, motion.numFrames);
  const rotations = new Float32Array(rotationsFromJoints(motion.joints, motion.numFrames, restOffsets));
  return makeMotion({
    ...motion,
    rotations,
    restOffsets: restOffsets.map((o) => [o[0], o[1], o[2]] as [number, number, number]),
  });
}

/** Decoded, de-normalised features (N×71) → the finished Motion. */
export function finishMotion(features: Float32Array, numFeatureFrames: number, opts: FinishOptions = {}): Motion {
  const drop = opts.dropFrames ?? 0;
  if (!(Number.isInteger(drop) && drop >= 0 && drop < numFeatureFrames))
    throw new Error(`finishMotion: cannot drop ${drop} of ${numFeatureFrames} frames`);
  let joints = recoverJoints(features, numFeatureFrames, opts.recover);
  const numFrames = numFeatureFrames - drop;
  const pinned = (opts.pins?.length ?? 0) > 0;
  // With pins the floor is aligned first: a pinned pose brings its own heights (feet on the floor), which a
  // later shift would move. Without, last, so the foot clean-up's IK cannot leave a foot below the floor.
  if (opts.floorAlign !== false && pinned) shiftToFloor(joints, joints.subarray(drop * POS), numFrames);
  if (opts.pins && pinned) joints = pinPoses(joints, numFeatureFrames, opts.pins);
  if (opts.footCleanup !== false) {
    joints = cleanFootContacts(joints, numFeatureFrames, contactsFromFeatures(features, numFeatureFrames), {
      anchorFrames: (opts.pins ?? []).map((p) => p.frame),
    });
  }
  if (drop > 0) joints = joints.slice(drop * POS);
  if (opts.floorAlign !== false && !pinned) shiftToFloor(joints, joints, numFrames);
  let motion = makeMotion({
    fps: 20,
    numFrames,
    joints,
    segments: opts.segments ?? [],
    provenance: opts.provenance ?? { source: 'unknown' },
  });
  // Retiming interpolates between frames, and a locked foot is the same point in both, so it stays planted.
  if (opts.speed !== undefined && opts.speed !== 1) motion = retimeMotion(motion, opts.speed);
  return attachRotations(motion);
}
