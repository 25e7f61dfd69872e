/**
 * Physical plausibility metrics on global joint positions (Float32Array T×22×3, metres, Y up, the floor
 * is y = 0). They need no reference motion, so they score ground truth and generated motion alike; the
 * ground-truth values of the data are the baseline generated motion is compared with (DESIGN.md §7).
 *
 * Floor convention: our data stores joint CENTRES, and at contact the lowest foot joint sits 2–5.5 cm
 * above y = 0 (the ankle/ball-of-foot centre is above the sole; data README, "Feet on the floor"). All
 * heights below are measured from y = 0, not from the sole, which is why the contact band is 5 cm.
 */
import { FOOT_JOINTS, NUM_JOINTS, PARENTS } from '../skeleton.js';
import { at, checkFps, checkJoints } from './validate.js';

/** The joints that stand on the floor when a person stands: both ankles and both balls of the feet. */
const ALL_FOOT_JOINTS = [FOOT_JOINTS.leftAnkle, FOOT_JOINTS.rightAnkle, FOOT_JOINTS.leftFoot, FOOT_JOINTS.rightFoot];

export interface FootSkateOptions {
  /** Contact when the joint is lower than this in both frames of a pair (metres). Default 0.05. */
  contactHeight?: number;
  /** Skating when the horizontal speed exceeds this (m/s), instantaneous and window-averaged. Default 0.5. */
  speedThreshold?: number;
  /** Frames in the averaging window, centred on the pair, clipped at the clip ends. Default 5. */
  window?: number;
  /** Joints tested. Default the balls of the feet, 10 and 11. */
  feet?: readonly number[];
}

/** Horizontal (XZ) speed of joint j between frames t and t+1, m/s. */
function horizontalSpeed(joints: Float32Array, t: number, j: number, fps: number): number {
  const dx = joints[at(t + 1, j, 0)] - joints[at(t, j, 0)];
  const dz = joints[at(t + 1, j, 2)] - joints[at(t, j, 2)];
  return Math.hypot(dx, dz) * fps;
}

/** Speeds of each frame pair t→t+1 averaged over the `window` pairs centred on it (fewer at the ends). */
function windowAverage(speeds: Float64Array, window: number): Float64Array {
  const half = Math.floor(window / 2);
  const out = new Float64Array(speeds.length);
  for (let t = 0; t < speeds.length; t++) {
    const lo = Math.max(0, t - half);
    const hi = Math.min(speeds.length - 1, t + half);
    let s = 0;
    for (let k = lo; k <= hi; k++) s += speeds[k];
    out[t] = s / (hi - lo + 1);
  }
  return out;
}

/**
 * Foot-skate ratio: the fraction of the T−1 frame pairs (t, t+1) in which at least one foot skates.
 * A foot (joint 10 or 11) is in contact in a pair when its height is below 5 cm in both frames t and
 * t+1; it skates when, in contact, its horizontal speed exceeds 0.5 m/s both instantaneously and as
 * the average over a 5-frame window centred on the pair. It follows the foot-skating ratio of GMD, "Guided Motion Diffusion" (Karunratanakul et al.,
 * ICCV 2023): contact below 5 cm, skating when the foot slides more than 2.5 cm between adjacent frames
 * (= 0.5 m/s at 20 fps); the window-average test is ours, so one noisy frame is not counted.
 */
export function footSkateRatio(joints: Float32Array, T: number, fps: number, options: FootSkateOptions = {}): number {
  checkJoints('footSkateRatio joints', joints, T, 2);
  checkFps(fps);
  const contactHeight = options.contactHeight ?? 0.05;
  const threshold = options.speedThreshold ?? 0.5;
  const window = options.window ?? 5;
  const feet = options.feet ?? [FOOT_JOINTS.leftFoot, FOOT_JOINTS.rightFoot];
  if (!Number.isInteger(window) || window < 1)
    throw new Error(`footSkateRatio: window must be a positive integer, got ${window}`);
  for (const j of feet) {
    if (!Number.isInteger(j) || j < 0 || j >= NUM_JOINTS)
      throw new Error(`footSkateRatio: foot joint ${j} is not within 0–${NUM_JOINTS - 1}`);
  }
  const pairs = T - 1;
  const skating = new Uint8Array(pairs);
  for (const j of feet) {
    const speeds = new Float64Array(pairs);
    for (let t = 0; t < pairs; t++) speeds[t] = horizontalSpeed(joints, t, j, fps);
    const averaged = windowAverage(speeds, window);
    for (let t = 0; t < pairs; t++) {
      const contact = joints[at(t, j, 1)] < contactHeight && joints[at(t + 1, j, 1)] < contactHeight;
      if (contact && speeds[t] > threshold && averaged[t] > threshold) skating[t] = 1;
    }
  }
  return skating.reduce((a, b) => a + b, 0) / pairs;
}

/** Lowest height over the four foot joints (ankles and balls of the feet) at frame t. */
function lowestFootHeight(joints: Float32Array, t: number): number {
  let y = Infinity;
  for (const j of ALL_FOOT_JOINTS) y = Math.min(y, joints[at(t, j, 1)]);
  return y;
}

function lowestJointHeight(joints: Float32Array, t: number): number {
  let y = Infinity;
  for (let j = 0; j < NUM_JOINTS; j++) y = Math.min(y, joints[at(t, j, 1)]);
  return y;
}

/**
 * Floor penetration: per frame, the depth of the lowest foot joint (7, 8, 10, 11) below y = 0, i.e.
 * max(0, −min foot y); `mean` averages it over all T frames (frames above the floor count as 0) and
 * `max` is the deepest frame, in metres. Same idea as the "penetration" of PhysDiff (Yuan et al. 2023),
 * measured on joint centres.
 */
export function floorPenetration(joints: Float32Array, T: number): { mean: number; max: number } {
  checkJoints('floorPenetration joints', joints, T, 1);
  let sum = 0;
  let max = 0;
  for (let t = 0; t < T; t++) {
    const depth = Math.max(0, -lowestFootHeight(joints, t));
    sum += depth;
    max = Math.max(max, depth);
  }
  return { mean: sum / T, max };
}

/**
 * Floating: a frame floats when even its lowest joint (any of the 22) is above the contact band
 * (default 5 cm), so nothing can be touching the floor. `mean` is the mean height of the lowest foot
 * joint over the floating frames (0 when none float), `ratio` the fraction of frames that float, in the
 * spirit of PhysDiff's "float" metric. Flight phases of runs and jumps float legitimately, so compare
 * with the ground-truth value of the same actions rather than with 0.
 */
export function floatHeight(joints: Float32Array, T: number, contactHeight = 0.05): { mean: number; ratio: number } {
  checkJoints('floatHeight joints', joints, T, 1);
  let frames = 0;
  let sum = 0;
  for (let t = 0; t < T; t++) {
    if (lowestJointHeight(joints, t) > contactHeight) {
      frames++;
      sum += lowestFootHeight(joints, t);
    }
  }
  return { mean: frames ? sum / frames : 0, ratio: frames / T };
}

/** Mean over frames t and joints of the norm of the k-th finite difference of positions, times fps^k. */
function meanDifferenceNorm(joints: Float32Array, T: number, fps: number, coefficients: readonly number[]): number {
  const order = coefficients.length - 1;
  let sum = 0;
  for (let t = 0; t + order < T; t++) {
    for (let j = 0; j < NUM_JOINTS; j++) {
      let sq = 0;
      for (let c = 0; c < 3; c++) {
        let d = 0;
        for (let k = 0; k <= order; k++) d += coefficients[k] * joints[at(t + k, j, c)];
        sq += d * d;
      }
      sum += Math.sqrt(sq);
    }
  }
  return (sum / ((T - order) * NUM_JOINTS)) * fps ** order;
}

/**
 * Jitter: mean over frames and joints of ‖p(t+3) − 3p(t+2) + 3p(t+1) − p(t)‖ × fps³, the magnitude of
 * the jerk (third time derivative of position) in m/s³, as in the jitter metric of Yi et al.,
 * "Physical Inertial Poser" (CVPR 2022) and TransPose. Needs T ≥ 4.
 */
export function jitter(joints: Float32Array, T: number, fps: number): number {
  checkJoints('jitter joints', joints, T, 4);
  checkFps(fps);
  return meanDifferenceNorm(joints, T, fps, [-1, 3, -3, 1]);
}

/**
 * Mean acceleration: mean over frames and joints of ‖p(t+2) − 2p(t+1) + p(t)‖ × fps², m/s² (the
 * acceleration that VIBE / TCMR (Kocabas et al. 2020; Choi et al. 2021) compute from second differences,
 * here as a magnitude without a reference motion). Needs T ≥ 3.
 */
export function meanAcceleration(joints: Float32Array, T: number, fps: number): number {
  checkJoints('meanAcceleration joints', joints, T, 3);
  checkFps(fps);
  return meanDifferenceNorm(joints, T, fps, [1, -2, 1]);
}

/**
 * Bone-length stability: for each of the 21 bones (joint j to PARENTS[j]), the population standard
 * deviation of its length over the T frames; `mean` averages those over bones and `max` is the worst
 * bone, in metres. A rigid skeleton gives 0 (our data: ≤ 0.6 mm, the int16-mm quantisation); generated
 * joints that are not produced by forward kinematics can stretch bones.
 */
export function boneLengthStats(joints: Float32Array, T: number): { mean: number; max: number } {
  checkJoints('boneLengthStd joints', joints, T, 1);
  let sumStd = 0;
  let maxStd = 0;
  let bones = 0;
  for (let j = 0; j < NUM_JOINTS; j++) {
    const parent = PARENTS[j];
    if (parent < 0) continue;
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < T; t++) {
      const len = Math.hypot(
        joints[at(t, j, 0)] - joints[at(t, parent, 0)],
        joints[at(t, j, 1)] - joints[at(t, parent, 1)],
        joints[at(t, j, 2)] - joints[at(t, parent, 2)],
      );
      s += len;
      s2 += len * len;
    }
    const mean = s / T;
    const std = Math.sqrt(Math.max(0, s2 / T - mean * mean));
    sumStd += std;
    maxStd = Math.max(maxStd, std);
    bones++;
  }
  return { mean: sumStd / bones, max: maxStd };
}

/** Mean over bones of the per-bone standard deviation of bone length over time, metres. */
export function boneLengthStd(joints: Float32Array, T: number): number {
  return boneLengthStats(joints, T).mean;
}

export interface PhysicalMetrics {
  frames: number;
  footSkateRatio: number;
  floorPenetrationMean: number;
  floorPenetrationMax: number;
  floatHeightMean: number;
  floatFrameRatio: number;
  /** m/s³ */
  jitter: number;
  /** m/s² */
  meanAcceleration: number;
  boneLengthStd: number;
  boneLengthStdMax: number;
}

/** Every physical metric of one clip (T ≥ 4), as `charades data stats` and evaluation report them. */
export function physicalMetrics(joints: Float32Array, T: number, fps: number): PhysicalMetrics {
  checkJoints('physicalMetrics joints', joints, T, 4);
  checkFps(fps);
  const penetration = floorPenetration(joints, T);
  const floating = floatHeight(joints, T);
  const bones = boneLengthStats(joints, T);
  return {
    frames: T,
    footSkateRatio: footSkateRatio(joints, T, fps),
    floorPenetrationMean: penetration.mean,
    floorPenetrationMax: penetration.max,
    floatHeightMean: floating.mean,
    floatFrameRatio: floating.ratio,
    jitter: jitter(joints, T, fps),
    meanAcceleration: meanAcceleration(joints, T, fps),
    boneLengthStd: bones.mean,
    boneLengthStdMax: bones.max,
  };
}

/**
 * Combines per-clip metrics into one set: frame-weighted means (so the skate ratio is the fraction of
 * all frame pairs of the set, not a mean of clip ratios), maxima for the `…Max` fields, and
 * floatHeightMean weighted by the number of floating frames.
 */
export function aggregatePhysicalMetrics(clips: readonly PhysicalMetrics[]): PhysicalMetrics {
  if (clips.length === 0) throw new Error('aggregatePhysicalMetrics: no clips');
  const frames = clips.reduce((a, c) => a + c.frames, 0);
  const weighted = (f: (c: PhysicalMetrics) => number, w: (c: PhysicalMetrics) => number) => {
    const total = clips.reduce((a, c) => a + w(c), 0);
    return total > 0 ? clips.reduce((a, c) => a + f(c) * w(c), 0) / total : 0;
  };
  const byFrames = (f: (c: PhysicalMetrics) => number) => weighted(f, (c) => c.frames);
  return {
    frames,
    footSkateRatio: weighted(
      (c) => c.footSkateRatio,
      (c) => c.frames - 1,
    ),
    floorPenetrationMean: byFrames((c) => c.floorPenetrationMean),
    floorPenetrationMax: Math.max(...clips.map((c) => c.floorPenetrationMax)),
    floatHeightMean: weighted(
      (c) => c.floatHeightMean,
      (c) => c.floatFrameRatio * c.frames,
    ),
    floatFrameRatio: byFrames((c) => c.floatFrameRatio),
    jitter: weighted(
      (c) => c.jitter,
      (c) => c.frames - 3,
    ),
    meanAcceleration: weighted(
      (c) => c.meanAcceleration,
      (c) => c.frames - 2,
    ),
    boneLengthStd: byFrames((c) => c.boneLengthStd),
    boneLengthStdMax: Math.max(...clips.map((c) => c.boneLengthStdMax)),
  };
}
