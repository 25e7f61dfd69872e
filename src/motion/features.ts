/**
 * THE implementation of the motion-feature layout `charades-ric71/1` (docs/data-contract.md): training reads
 * the features cache written from this file, inference inverts with `recoverJoints`. Never copy it elsewhere.
 *
 * Per feature frame t (N = T − 1; velocities look one frame ahead), in the body's facing frame at t
 * (x = left, z = forward, y = up):
 *   0       root_ang_vel  θ(t+1) − θ(t), wrapped to (−π, π]
 *   1–2     root_lin_vel  pelvis XZ displacement t→t+1 (x, z)
 *   3       root_y        pelvis height
 *   4–66    ric           joints 1..21 relative to the pelvis's XZ, height absolute (x, y, z each)
 *   67–70   contacts      left ankle, left foot, right ankle, right foot (0/1)
 */
import { FPS, MIRROR, NUM_JOINTS } from './skeleton.js';

export const FEATURE_LAYOUT = 'charades-ric71/1';
export const FEATURE_DIM = 71;

export const FEATURE_SLICES = {
  root_ang_vel: [0, 1],
  root_lin_vel: [1, 3],
  root_y: [3, 4],
  ric: [4, 67],
  contacts: [67, 71],
} as const satisfies Record<string, readonly [number, number]>;

/** Joints whose contact flags fill the `contacts` slice, in slice order. */
export const CONTACT_JOINTS = [7, 10, 8, 11] as const;

/**
 * Contact rule (documented in docs/data-contract.md): a foot joint is in contact at t when it moves less than
 * CONTACT_MAX_SPEED between t and t+1 and is below its height limit. The limits sit above the joint-centre
 * heights of a planted foot in the data (ankle ≈ 0.12 m, ball ≈ 0.04 m for Bandai Namco; the ACCAD actor's
 * ankle rides higher) and well below a swinging foot.
 */
export const CONTACT_MAX_SPEED = 0.5; // metres per second
export const CONTACT_MAX_HEIGHT: Readonly<Record<(typeof CONTACT_JOINTS)[number], number>> = {
  7: 0.18,
  10: 0.1,
  8: 0.18,
  11: 0.1,
};

const PELVIS = 0;
const LEFT_HIP = 1;
const RIGHT_HIP = 2;
const LEFT_SHOULDER = 16;
const RIGHT_SHOULDER = 17;
const RIC_OFFSET = FEATURE_SLICES.ric[0];
const CONTACT_OFFSET = FEATURE_SLICES.contacts[0];

function checkJoints(joints: Float32Array, numFrames: number, minFrames: number, what: string): void {
  if (!Number.isInteger(numFrames) || numFrames < minFrames) {
    throw new Error(`${what}: needs at least ${minFrames} frame(s), got numFrames = ${numFrames}`);
  }
  if (joints.length !== numFrames * NUM_JOINTS * 3) {
    throw new Error(
      `${what}: joints has ${joints.length} values, expected ${numFrames}×${NUM_JOINTS}×3 = ${numFrames * NUM_JOINTS * 3}`,
    );
  }
}

function checkFeatures(features: Float32Array, numFeatureFrames: number, what: string): void {
  if (!Number.isInteger(numFeatureFrames) || numFeatureFrames < 0) {
    throw new Error(
      `${what}: ${features.length} values do not make whole frames of ${FEATURE_DIM} (frame count ${numFeatureFrames})`,
    );
  }
  if (features.length !== numFeatureFrames * FEATURE_DIM) {
    throw new Error(
      `${what}: features has ${features.length} values, expected ${numFeatureFrames}×${FEATURE_DIM} = ${numFeatureFrames * FEATURE_DIM}`,
    );
  }
}

/** Wraps an angle to (−π, π]. */
export function wrapAngle(a: number): number {
  let w = a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
  if (w <= -Math.PI) w += 2 * Math.PI;
  return w;
}

/**
 * Facing angle of every frame: the horizontal normal of the hips + shoulders left-right axis,
 * θ = atan2(forward.x, forward.z), 0 when facing +Z.
 */
export function headingAngles(joints: Float32Array, numFrames: number): Float64Array {
  checkJoints(joints, numFrames, 1, 'headingAngles');
  const out = new Float64Array(numFrames);
  for (let t = 0; t < numFrames; t++) {
    const b = t * NUM_JOINTS * 3;
    const ax =
      joints[b + RIGHT_HIP * 3] -
      joints[b + LEFT_HIP * 3] +
      joints[b + RIGHT_SHOULDER * 3] -
      joints[b + LEFT_SHOULDER * 3];
    const az =
      joints[b + RIGHT_HIP * 3 + 2] -
      joints[b + LEFT_HIP * 3 + 2] +
      joints[b + RIGHT_SHOULDER * 3 + 2] -
      joints[b + LEFT_SHOULDER * 3 + 2];
    // forward = up × across = (az, 0, −ax); atan2 needs no normalisation.
    out[t] = Math.atan2(az, -ax);
  }
  return out;
}

/** Positions T×22×3 → features (T−1)×71 (float32, not normalised). */
export function featurize(joints: Float32Array, numFrames: number): Float32Array<ArrayBuffer> {
  checkJoints(joints, numFrames, 2, 'featurize');
  const n = numFrames - 1;
  const out = new Float32Array(n * FEATURE_DIM);
  const theta = headingAngles(joints, numFrames);
  const stride = NUM_JOINTS * 3;
  for (let t = 0; t < n; t++) {
    const b = t * stride;
    const nb = b + stride;
    const o = t * FEATURE_DIM;
    const c = Math.cos(theta[t]);
    const s = Math.sin(theta[t]);
    const rx = joints[b + PELVIS * 3];
    const rz = joints[b + PELVIS * 3 + 2];
    out[o] = wrapAngle(theta[t + 1] - theta[t]);
    const dx = joints[nb + PELVIS * 3] - rx;
    const dz = joints[nb + PELVIS * 3 + 2] - rz;
    out[o + 1] = dx * c - dz * s;
    out[o + 2] = dx * s + dz * c;
    out[o + 3] = joints[b + PELVIS * 3 + 1];
    for (let j = 1; j < NUM_JOINTS; j++) {
      const px = joints[b + j * 3] - rx;
      const pz = joints[b + j * 3 + 2] - rz;
      const k = o + RIC_OFFSET + (j - 1) * 3;
      out[k] = px * c - pz * s;
      out[k + 1] = joints[b + j * 3 + 1];
      out[k + 2] = px * s + pz * c;
    }
    for (let i = 0; i < CONTACT_JOINTS.length; i++)
      out[o + CONTACT_OFFSET + i] = footContact(joints, b, nb, CONTACT_JOINTS[i]);
  }
  return out;
}

function footContact(joints: Float32Array, b: number, nb: number, j: (typeof CONTACT_JOINTS)[number]): number {
  const step = Math.hypot(
    joints[nb + j * 3] - joints[b + j * 3],
    joints[nb + j * 3 + 1] - joints[b + j * 3 + 1],
    joints[nb + j * 3 + 2] - joints[b + j * 3 + 2],
  );
  // The layout is defined at the data's 20 fps, so one frame step is 1/FPS seconds.
  const slow = step * FPS < CONTACT_MAX_SPEED;
  return slow && joints[b + j * 3 + 1] < CONTACT_MAX_HEIGHT[j] ? 1 : 0;
}

export interface RecoverOptions {
  /** Heading of the first frame (radians, 0 = facing +Z). */
  heading0?: number;
  /** Pelvis XZ of the first frame. */
  root0?: readonly [number, number];
}

/** Features N×71 → positions N×22×3 by integrating root rotation and velocity (HumanML3D's recover_from_ric). */
export function recoverJoints(
  features: Float32Array,
  numFeatureFrames: number,
  opts: RecoverOptions = {},
): Float32Array<ArrayBuffer> {
  checkFeatures(features, numFeatureFrames, 'recoverJoints');
  const out = new Float32Array(numFeatureFrames * NUM_JOINTS * 3);
  let theta = opts.heading0 ?? 0;
  let x = opts.root0?.[0] ?? 0;
  let z = opts.root0?.[1] ?? 0;
  for (let t = 0; t < numFeatureFrames; t++) {
    const o = t * FEATURE_DIM;
    const b = t * NUM_JOINTS * 3;
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    out[b] = x;
    out[b + 1] = features[o + 3];
    out[b + 2] = z;
    for (let j = 1; j < NUM_JOINTS; j++) {
      const k = o + RIC_OFFSET + (j - 1) * 3;
      const lx = features[k];
      const lz = features[k + 2];
      out[b + j * 3] = x + lx * c + lz * s;
      out[b + j * 3 + 1] = features[k + 1];
      out[b + j * 3 + 2] = z - lx * s + lz * c;
    }
    const vx = features[o + 1];
    const vz = features[o + 2];
    x += vx * c + vz * s;
    z += -vx * s + vz * c;
    theta += features[o];
  }
  return out;
}

// ---------------------------------------------------------------- mirroring

/** mirrored[:, i] = sign[i] * features[:, perm[i]] reflects the motion through x = 0 and swaps left and right. */
export interface FeatureMirror {
  perm: number[];
  sign: number[];
}

function buildFeatureMirror(): FeatureMirror {
  const perm = Array.from({ length: FEATURE_DIM }, (_, i) => i);
  const sign = new Array<number>(FEATURE_DIM).fill(1);
  // Reflecting x turns the heading θ into −θ, so turning and sideways motion change sign.
  sign[0] = -1;
  sign[1] = -1;
  for (let j = 1; j < NUM_JOINTS; j++) {
    const dst = RIC_OFFSET + (j - 1) * 3;
    const src = RIC_OFFSET + (MIRROR[j] - 1) * 3;
    for (let a = 0; a < 3; a++) perm[dst + a] = src + a;
    sign[dst] = -1;
  }
  CONTACT_JOINTS.forEach((j, i) => {
    perm[CONTACT_OFFSET + i] = CONTACT_OFFSET + CONTACT_JOINTS.indexOf(MIRROR[j] as (typeof CONTACT_JOINTS)[number]);
  });
  return { perm, sign };
}

export const FEATURE_MIRROR: Readonly<FeatureMirror> = buildFeatureMirror();

export function mirrorFeatures(features: Float32Array, numFeatureFrames: number): Float32Array<ArrayBuffer> {
  checkFeatures(features, numFeatureFrames, 'mirrorFeatures');
  const { perm, sign } = FEATURE_MIRROR;
  const out = new Float32Array(features.length);
  for (let t = 0; t < numFeatureFrames; t++) {
    const o = t * FEATURE_DIM;
    for (let i = 0; i < FEATURE_DIM; i++) out[o + i] = sign[i] * features[o + perm[i]];
  }
  return out;
}

// ---------------------------------------------------------------- normalisation

export interface NormStats {
  mean: number[];
  std: number[];
  /** Feature frames the statistics were computed over. */
  frames: number;
}

/** Smallest std a dimension gets: without it, near-constant dimensions would blow up when normalised. */
export const DEFAULT_STD_FLOOR = 1e-3;

/** Per-dimension mean and (floored) standard deviation over many clips' features. */
export function computeNormStats(featureArrays: Iterable<Float32Array>, opts: { stdFloor?: number } = {}): NormStats {
  const floor = opts.stdFloor ?? DEFAULT_STD_FLOOR;
  if (!(floor > 0)) throw new Error(`computeNormStats: stdFloor must be positive, got ${floor}`);
  const sum = new Float64Array(FEATURE_DIM);
  const sumSq = new Float64Array(FEATURE_DIM);
  let frames = 0;
  for (const f of featureArrays) {
    if (f.length % FEATURE_DIM !== 0)
      throw new Error(`computeNormStats: an array has ${f.length} values, not a multiple of ${FEATURE_DIM}`);
    for (let o = 0; o < f.length; o += FEATURE_DIM) {
      for (let i = 0; i < FEATURE_DIM; i++) {
        const v = f[o + i];
        sum[i] += v;
        sumSq[i] += v * v;
      }
    }
    frames += f.length / FEATURE_DIM;
  }
  if (frames === 0) throw new Error('computeNormStats: no feature frames');
  const mean = Array.from(sum, (s) => s / frames);
  const std = mean.map((m, i) => Math.max(Math.sqrt(Math.max(sumSq[i] / frames - m * m, 0)), floor));
  return { mean, std, frames };
}

function checkStats(stats: Pick<NormStats, 'mean' | 'std'>, what: string): void {
  if (stats.mean.length !== FEATURE_DIM || stats.std.length !== FEATURE_DIM) {
    throw new Error(
      `${what}: stats have ${stats.mean.length} means and ${stats.std.length} stds, expected ${FEATURE_DIM} each`,
    );
  }
  const bad = stats.std.findIndex((s) => !(s > 0));
  if (bad >= 0) throw new Error(`${what}: std[${bad}] is ${stats.std[bad]}, must be positive`);
}

export function normalizeFeatures(
  features: Float32Array,
  stats: Pick<NormStats, 'mean' | 'std'>,
): Float32Array<ArrayBuffer> {
  checkStats(stats, 'normalizeFeatures');
  checkFeatures(features, features.length / FEATURE_DIM, 'normalizeFeatures');
  const out = new Float32Array(features.length);
  for (let o = 0; o < features.length; o += FEATURE_DIM) {
    for (let i = 0; i < FEATURE_DIM; i++) out[o + i] = (features[o + i] - stats.mean[i]) / stats.std[i];
  }
  return out;
}

export function denormalizeFeatures(
  normalized: Float32Array,
  stats: Pick<NormStats, 'mean' | 'std'>,
): Float32Array<ArrayBuffer> {
  checkStats(stats, 'denormalizeFeatures');
  checkFeatures(normalized, normalized.length / FEATURE_DIM, 'denormalizeFeatures');
  const out = new Float32Array(normalized.length);
  for (let o = 0; o < normalized.length; o += FEATURE_DIM) {
    for (let i = 0; i < FEATURE_DIM; i++) out[o + i] = normalized[o + i] * stats.std[i] + stats.mean[i];
  }
  return out;
}
