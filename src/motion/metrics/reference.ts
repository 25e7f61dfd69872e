/**
 * Metrics that compare a generated motion with a reference (ground truth or given poses): Action-GPT's
 * APE/AVE, MotionGPT's pose-control errors and ADE/FDE for continuation. All inputs are global joint
 * positions, Float32Array T×22×3, metres, Y up.
 */
import { NUM_JOINTS } from '../skeleton.js';
import { at, checkFps, checkJoints } from './validate.js';

const ROOT = 0;

export interface ReferencePair {
  generated: Float32Array;
  reference: Float32Array;
  /** Frames of both motions (they must have the same length). */
  T: number;
}

export interface ApeAveParts {
  /** Root joint, all three coordinates. */
  root: number;
  /** Root joint on the ground plane only (x, z here; "X and Y" in TEMOS, which is Z-up). */
  traj: number;
  /** Joints 1–21 relative to the root (p_j − p_root), averaged over joints. */
  meanLocal: number;
  /** All 22 joints in global coordinates, averaged over joints. */
  meanGlobal: number;
}

/** The coordinates of joint j at frame t under one of the four APE/AVE views. */
type View = (m: Float32Array, t: number, j: number, out: Float64Array) => void;

const globalView: View = (m, t, j, out) => {
  out[0] = m[at(t, j, 0)];
  out[1] = m[at(t, j, 1)];
  out[2] = m[at(t, j, 2)];
};
const localView: View = (m, t, j, out) => {
  out[0] = m[at(t, j, 0)] - m[at(t, ROOT, 0)];
  out[1] = m[at(t, j, 1)] - m[at(t, ROOT, 1)];
  out[2] = m[at(t, j, 2)] - m[at(t, ROOT, 2)];
};
const groundView: View = (m, t, j, out) => {
  out[0] = m[at(t, j, 0)];
  out[1] = m[at(t, j, 2)];
};

interface ViewSpec {
  view: View;
  dims: number;
  joints: readonly number[];
}

const LOCAL_JOINTS = Array.from({ length: NUM_JOINTS - 1 }, (_, i) => i + 1);
const ALL_JOINTS = Array.from({ length: NUM_JOINTS }, (_, i) => i);
const VIEWS: Record<keyof ApeAveParts, ViewSpec> = {
  root: { view: globalView, dims: 3, joints: [ROOT] },
  traj: { view: groundView, dims: 2, joints: [ROOT] },
  meanLocal: { view: localView, dims: 3, joints: LOCAL_JOINTS },
  meanGlobal: { view: globalView, dims: 3, joints: ALL_JOINTS },
};

/** Σ over frames of ‖ĥ_n[j] − h_n[j]‖ for one joint of one sample. */
function positionErrorSum(p: ReferencePair, spec: ViewSpec, j: number): number {
  const a = new Float64Array(3);
  const b = new Float64Array(3);
  let sum = 0;
  for (let t = 0; t < p.T; t++) {
    spec.view(p.generated, t, j, a);
    spec.view(p.reference, t, j, b);
    let sq = 0;
    for (let c = 0; c < spec.dims; c++) sq += (a[c] - b[c]) ** 2;
    sum += Math.sqrt(sq);
  }
  return sum;
}

/** Per-coordinate variance over time with the N−1 denominator (Action-GPT appendix 8, TEMOS). */
function temporalVariance(m: Float32Array, T: number, spec: ViewSpec, j: number): Float64Array {
  const x = new Float64Array(3);
  const mean = new Float64Array(spec.dims);
  for (let t = 0; t < T; t++) {
    spec.view(m, t, j, x);
    for (let c = 0; c < spec.dims; c++) mean[c] += x[c] / T;
  }
  const variance = new Float64Array(spec.dims);
  for (let t = 0; t < T; t++) {
    spec.view(m, t, j, x);
    for (let c = 0; c < spec.dims; c++) variance[c] += (x[c] - mean[c]) ** 2 / (T - 1);
  }
  return variance;
}

function checkPairs(name: string, pairs: readonly ReferencePair[], minFrames: number): void {
  if (pairs.length === 0) throw new Error(`${name}: no samples`);
  pairs.forEach((p, s) => {
    checkJoints(`${name} sample ${s} generated`, p.generated, p.T, minFrames);
    checkJoints(`${name} sample ${s} reference`, p.reference, p.T, minFrames);
  });
}

/**
 * Average Positional Error (Action-GPT, Kalakonda et al. 2023, appendix 8, following TEMOS):
 * APE[j] = 1/(S·N) Σ_s Σ_n ‖Ĥ_{s,n}[j] − H_{s,n}[j]‖₂, reported for the root joint (x, y, z), the global
 * trajectory (root on the ground plane), the mean over joints of the root-relative ("local") positions,
 * and the mean over joints of the global positions. Samples of different lengths weigh by their frames
 * (the S·N denominator counts all frames). Metres.
 */
export function averagePositionalError(pairs: readonly ReferencePair[]): ApeAveParts {
  checkPairs('averagePositionalError', pairs, 1);
  const frames = pairs.reduce((a, p) => a + p.T, 0);
  const part = (spec: ViewSpec) => {
    let sum = 0;
    for (const j of spec.joints) for (const p of pairs) sum += positionErrorSum(p, spec, j);
    return sum / frames / spec.joints.length;
  };
  return {
    root: part(VIEWS.root),
    traj: part(VIEWS.traj),
    meanLocal: part(VIEWS.meanLocal),
    meanGlobal: part(VIEWS.meanGlobal),
  };
}

/**
 * Average Variance Error (Action-GPT appendix 8): AVE[j] = 1/S Σ_s ‖σ̂_s[j] − σ_s[j]‖₂ with
 * σ[j] = 1/(N−1) Σ_n (H̃[j] − H_n[j])², the per-coordinate variance of joint j over the N frames
 * (H̃ its temporal mean). Same four parts as APE. Square metres. Needs N ≥ 2.
 */
export function averageVarianceError(pairs: readonly ReferencePair[]): ApeAveParts {
  checkPairs('averageVarianceError', pairs, 2);
  const part = (spec: ViewSpec) => {
    let sum = 0;
    for (const j of spec.joints) {
      for (const p of pairs) {
        const a = temporalVariance(p.generated, p.T, spec, j);
        const b = temporalVariance(p.reference, p.T, spec, j);
        let sq = 0;
        for (let c = 0; c < spec.dims; c++) sq += (a[c] - b[c]) ** 2;
        sum += Math.sqrt(sq);
      }
    }
    return sum / pairs.length / spec.joints.length;
  };
  return {
    root: part(VIEWS.root),
    traj: part(VIEWS.traj),
    meanLocal: part(VIEWS.meanLocal),
    meanGlobal: part(VIEWS.meanGlobal),
  };
}

// ---------------------------------------------------------------- pose controls (MotionGPT)

export interface PoseControlOptions {
  /**
   * 'root-xz' (default) translates each compared window horizontally so its first frame's pelvis is at
   * x = z = 0 before comparing; 'none' compares global positions as they are. MotionGPT (Zhang et al.
   * 2024, Table 1) compares poses that its VQ-VAE tokenised from HumanML3D features, which hold
   * root-relative joint positions and no absolute horizontal position, so a pose matches wherever in the
   * room it is; heights and facing are kept. The paper does not state an alignment explicitly.
   */
  align?: 'root-xz' | 'none';
}

/** Horizontal offset (x, z) of the pelvis at `frame`, or zero when not aligning. */
function alignmentOffset(m: Float32Array, frame: number, align: PoseControlOptions['align']): [number, number] {
  return align === 'none' ? [0, 0] : [m[at(frame, ROOT, 0)], m[at(frame, ROOT, 2)]];
}

/** Mean over joints of ‖a[ta, j] − b[tb, j]‖ after removing each side's horizontal offset. */
function meanJointDistance(
  a: Float32Array,
  ta: number,
  oa: [number, number],
  b: Float32Array,
  tb: number,
  ob: [number, number],
): number {
  let sum = 0;
  for (let j = 0; j < NUM_JOINTS; j++) {
    const dx = a[at(ta, j, 0)] - oa[0] - (b[at(tb, j, 0)] - ob[0]);
    const dy = a[at(ta, j, 1)] - b[at(tb, j, 1)];
    const dz = a[at(ta, j, 2)] - oa[1] - (b[at(tb, j, 2)] - ob[1]);
    sum += Math.hypot(dx, dy, dz);
  }
  return sum / NUM_JOINTS;
}

/** Mean over joints of the norm of the difference of the two motions' velocities t→t+1, m/frame. */
function meanVelocityDistance(a: Float32Array, ta: number, b: Float32Array, tb: number): number {
  let sum = 0;
  for (let j = 0; j < NUM_JOINTS; j++) {
    let sq = 0;
    for (let c = 0; c < 3; c++) {
      const va = a[at(ta + 1, j, c)] - a[at(ta, j, c)];
      const vb = b[at(tb + 1, j, c)] - b[at(tb, j, c)];
      sq += (va - vb) ** 2;
    }
    sum += Math.sqrt(sq);
  }
  return sum / NUM_JOINTS;
}

export interface PoseWindowError {
  /** Mean over the K given frames and the 22 joints of the position error, metres. */
  recon: number;
  /** Mean over the K−1 frame steps and the 22 joints of the velocity error, m/s (0 when K = 1). */
  vel: number;
}

function windowError(
  name: string,
  generated: Float32Array,
  T: number,
  given: Float32Array,
  K: number,
  fps: number,
  start: number,
  options: PoseControlOptions,
): PoseWindowError {
  checkJoints(`${name} generated`, generated, T, 1);
  checkJoints(`${name} given poses`, given, K, 1);
  checkFps(fps);
  if (K > T) throw new Error(`${name}: ${K} given poses but the generated motion has only ${T} frames`);
  const align = options.align ?? 'root-xz';
  const og = alignmentOffset(generated, start, align);
  const op = alignmentOffset(given, 0, align);
  let recon = 0;
  for (let k = 0; k < K; k++) recon += meanJointDistance(generated, start + k, og, given, k, op);
  let vel = 0;
  for (let k = 0; k + 1 < K; k++) vel += meanVelocityDistance(generated, start + k, given, k);
  return { recon: recon / K, vel: K > 1 ? (vel / (K - 1)) * fps : 0 };
}

/**
 * MotionGPT's Recon and Vel for initial poses (Zhang et al., "MotionGPT: Finetuned LLMs are
 * General-Purpose Motion Generators", AAAI 2024, Table 1): the K given poses (K = 4 in the paper) are
 * compared with the first K generated frames; Recon is the mean per-joint L2 position error and Vel the
 * mean per-joint L2 error of the frame-to-frame velocities (× fps, m/s). "Both measured by L2": we use
 * the Euclidean distance per joint (metres), not a squared error, so it reads like MPJPE.
 */
export function initialPoseError(
  generated: Float32Array,
  T: number,
  given: Float32Array,
  K: number,
  fps: number,
  options: PoseControlOptions = {},
): PoseWindowError {
  return windowError('initialPoseError', generated, T, given, K, fps, 0, options);
}

/** Recon and Vel for last poses: the K given poses against the last K generated frames (see initialPoseError). */
export function lastPoseError(
  generated: Float32Array,
  T: number,
  given: Float32Array,
  K: number,
  fps: number,
  options: PoseControlOptions = {},
): PoseWindowError {
  checkJoints('lastPoseError generated', generated, T, 1);
  return windowError('lastPoseError', generated, T, given, K, fps, T - K, options);
}

/**
 * MotionGPT's key-pose Dist (Table 1): where the key poses land in the generated sequence is not
 * fixed, so for each of the K key poses take the nearest generated frame, min over t of the mean
 * per-joint distance, and average over the keys. Metres. Alignment as in PoseControlOptions (per frame).
 */
export function keyPoseDistance(
  generated: Float32Array,
  T: number,
  keys: Float32Array,
  K: number,
  options: PoseControlOptions = {},
): number {
  checkJoints('keyPoseDistance generated', generated, T, 1);
  checkJoints('keyPoseDistance key poses', keys, K, 1);
  const align = options.align ?? 'root-xz';
  let sum = 0;
  for (let k = 0; k < K; k++) {
    const ok = alignmentOffset(keys, k, align);
    let best = Infinity;
    for (let t = 0; t < T; t++)
      best = Math.min(best, meanJointDistance(generated, t, alignmentOffset(generated, t, align), keys, k, ok));
    sum += best;
  }
  return sum / K;
}

// ---------------------------------------------------------------- continuation

export interface DisplacementError {
  /** Average displacement error: mean over the horizon's frames and the 22 joints of ‖p̂ − p‖, metres. */
  ade: number;
  /** Final displacement error: mean over the 22 joints of ‖p̂ − p‖ at the last frame of the horizon. */
  fde: number;
}

/**
 * ADE/FDE of a continuation over the predicted horizon (the T frames after the observed past), as in
 * motion prediction (e.g. DLow, Yuan & Kitani 2020; PoseGPT, Lucas et al. 2022). Global positions,
 * no alignment: continuing from the right place is part of the task. Unlike DLow, which takes the norm
 * of the whole concatenated pose vector, we average per-joint Euclidean errors (MPJPE style), so the
 * value is in metres per joint.
 */
export function displacementError(predicted: Float32Array, reference: Float32Array, T: number): DisplacementError {
  checkJoints('displacementError predicted', predicted, T, 1);
  checkJoints('displacementError reference', reference, T, 1);
  const none: [number, number] = [0, 0];
  let sum = 0;
  let last = 0;
  for (let t = 0; t < T; t++) {
    last = meanJointDistance(predicted, t, none, reference, t, none);
    sum += last;
  }
  return { ade: sum / T, fde: last };
}

/** Best-of-N ADE and FDE over several sampled continuations (each minimum taken separately, as DLow). */
export function bestOfDisplacementError(
  samples: readonly Float32Array[],
  reference: Float32Array,
  T: number,
): DisplacementError {
  if (samples.length === 0) throw new Error('bestOfDisplacementError: no samples');
  const errors = samples.map((s, i) => {
    try {
      return displacementError(s, reference, T);
    } catch (e) {
      throw new Error(`bestOfDisplacementError sample ${i}: ${(e as Error).message}`, { cause: e });
    }
  });
  return { ade: Math.min(...errors.map((e) => e.ade)), fde: Math.min(...errors.map((e) => e.fde)) };
}
