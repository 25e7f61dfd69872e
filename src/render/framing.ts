/**
 * Everything about where things are on screen, computed in Node before the page draws: resampling to
 * the output frame rate, a camera that follows the root without jitter, and one camera distance that
 * keeps every joint of every frame inside the picture. Doing it here keeps the page dumb and makes the
 * framing testable without a browser.
 */
import { JOINT, NUM_JOINTS } from '../motion/index.js';

const J3 = NUM_JOINTS * 3;

export interface CameraRig {
  /** Vertical field of view in degrees. */
  fovDeg: number;
  /** Camera pitch below the horizon, degrees. */
  elevationDeg: number;
  /** Camera yaw: the camera sits at target + distance·(sin az·cos el, sin el, cos az·cos el). */
  azimuthRad: number;
  /** Distance from the look-at target; one value for the whole clip so the scale never pumps. */
  distance: number;
  /** Look-at point per output frame, N×3. */
  track: Float32Array;
  /** Width / height of the picture the rig was planned for (½ for a side-by-side cell). */
  aspect: number;
}

/** Screen-space room the body may use (NDC), leaving the top for the caption and the bottom for the time bar. */
export const SAFE_AREA = { left: -0.86, right: 0.86, bottom: -0.76, top: 0.66 } as const;
export const CAMERA_FOV_DEG = 30;
export const CAMERA_ELEVATION_DEG = 14;
/** How far the camera turns from straight ahead of the person: a three-quarter view shows depth and both sides. */
export const CAMERA_YAW_OFFSET_RAD = (28 * Math.PI) / 180;
/** Smoothing of the followed root; long enough that steps do not shake the picture. */
export const FOLLOW_SIGMA_SECONDS = 0.6;
const MIN_DISTANCE = 3.2;

/** Number of output frames for a clip of `numFrames` at `srcFps` shown at `outFps` (duration preserved). */
export function outputFrameCount(numFrames: number, srcFps: number, outFps: number): number {
  return Math.max(1, Math.round((numFrames / srcFps) * outFps));
}

/**
 * Joints at the output frame rate by linear interpolation; frames past the end hold the last pose so
 * grid cells of different lengths stay in sync.
 */
export function resampleJoints(
  joints: Float32Array,
  numFrames: number,
  srcFps: number,
  outFps: number,
  outFrames: number,
): Float32Array {
  const out = new Float32Array(outFrames * J3);
  for (let i = 0; i < outFrames; i++) {
    const s = Math.min((i * srcFps) / outFps, numFrames - 1);
    const a = Math.floor(s);
    const b = Math.min(a + 1, numFrames - 1);
    const w = s - a;
    for (let k = 0; k < J3; k++) out[i * J3 + k] = joints[a * J3 + k] * (1 - w) + joints[b * J3 + k] * w;
  }
  return out;
}

/** Facing angle (0 = +Z, positive towards +X) of one frame, from hips and shoulders as in the data contract. */
export function headingAt(joints: Float32Array, frame: number): number {
  const o = frame * J3;
  const ax =
    joints[o + JOINT.right_hip * 3] -
    joints[o + JOINT.left_hip * 3] +
    joints[o + JOINT.right_shoulder * 3] -
    joints[o + JOINT.left_shoulder * 3];
  const az =
    joints[o + JOINT.right_hip * 3 + 2] -
    joints[o + JOINT.left_hip * 3 + 2] +
    joints[o + JOINT.right_shoulder * 3 + 2] -
    joints[o + JOINT.left_shoulder * 3 + 2];
  // forward = up × across = (az, 0, -ax) for across = (ax, 0, az)
  return Math.atan2(az, -ax);
}

/** Mean heading over the first half second (circular mean), robust to a twitchy first frame. */
export function initialHeading(joints: Float32Array, numFrames: number, fps: number): number {
  const n = Math.max(1, Math.min(numFrames, Math.round(fps / 2)));
  let s = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const h = headingAt(joints, i);
    s += Math.sin(h);
    c += Math.cos(h);
  }
  return Math.atan2(s, c);
}

/** Zero-phase Gaussian smoothing of the pelvis's XZ path (edges clamped), the camera's look-at path. */
export function followTrack(
  joints: Float32Array,
  frames: number,
  fps: number,
  targetY: number,
  sigmaSeconds = FOLLOW_SIGMA_SECONDS,
): Float32Array {
  const sigma = Math.max(1e-6, sigmaSeconds * fps);
  const radius = Math.ceil(3 * sigma);
  const weights: number[] = [];
  for (let k = -radius; k <= radius; k++) weights.push(Math.exp(-(k * k) / (2 * sigma * sigma)));
  const track = new Float32Array(frames * 3);
  for (let i = 0; i < frames; i++) {
    let x = 0;
    let z = 0;
    let wsum = 0;
    for (let k = -radius; k <= radius; k++) {
      const f = Math.min(frames - 1, Math.max(0, i + k));
      const w = weights[k + radius];
      x += joints[f * J3] * w;
      z += joints[f * J3 + 2] * w;
      wsum += w;
    }
    track[i * 3] = x / wsum;
    track[i * 3 + 1] = targetY;
    track[i * 3 + 2] = z / wsum;
  }
  return track;
}

/** Highest joint over the clip, and never less than a standing person so short crouches are not zoomed in. */
export function topHeight(joints: Float32Array): number {
  let top = 1.0;
  for (let i = 1; i < joints.length; i += 3) top = Math.max(top, joints[i]);
  return top;
}

/**
 * The smallest distance at which every joint (and the floor under the feet) of every frame projects
 * inside SAFE_AREA, for a camera looking at `track[i]` from the given angles.
 */
export function requiredDistance(
  joints: Float32Array,
  frames: number,
  track: Float32Array,
  azimuthRad: number,
  elevationDeg = CAMERA_ELEVATION_DEG,
  fovDeg = CAMERA_FOV_DEG,
  aspect = 1,
): number {
  const el = (elevationDeg * Math.PI) / 180;
  const back = [Math.sin(azimuthRad) * Math.cos(el), Math.sin(el), Math.cos(azimuthRad) * Math.cos(el)];
  const right = [Math.cos(azimuthRad), 0, -Math.sin(azimuthRad)];
  const up = [
    back[1] * right[2] - back[2] * right[1],
    back[2] * right[0] - back[0] * right[2],
    back[0] * right[1] - back[1] * right[0],
  ];
  const t = Math.tan((fovDeg * Math.PI) / 360);
  // the field of view is vertical: a narrower picture sees proportionally less sideways
  const tx = t * aspect;
  let d = MIN_DISTANCE;
  const fit = (px: number, py: number, pz: number, i: number) => {
    const rx = px - track[i * 3];
    const ry = py - track[i * 3 + 1];
    const rz = pz - track[i * 3 + 2];
    const x = rx * right[0] + ry * right[1] + rz * right[2];
    const y = rx * up[0] + ry * up[1] + rz * up[2];
    const b = rx * back[0] + ry * back[1] + rz * back[2];
    // x / ((d - b)·t) must lie within the safe area, so d ≥ b + x / (t·edge)
    const ex = x >= 0 ? SAFE_AREA.right : -SAFE_AREA.left;
    const ey = y >= 0 ? SAFE_AREA.top : -SAFE_AREA.bottom;
    d = Math.max(d, b + Math.abs(x) / (tx * ex), b + Math.abs(y) / (t * ey));
  };
  for (let i = 0; i < frames; i++) {
    for (let j = 0; j < NUM_JOINTS; j++) {
      const o = i * J3 + j * 3;
      // the head joint is the base of the skull: leave room for the drawn head above it
      const lift = j === JOINT.head ? 0.2 : 0.08;
      fit(joints[o], joints[o + 1] + lift, joints[o + 2], i);
      fit(joints[o], 0, joints[o + 2], i);
    }
  }
  return d;
}

/**
 * Camera for one or several clips (resampled joints at the output rate) that share one scale; `aspect`
 * is each cell's width / height (1 for a single clip or a 2×2 grid, ½ side by side).
 */
export function planCameras(
  cells: readonly { joints: Float32Array; frames: number }[],
  fps: number,
  aspect = 1,
): CameraRig[] {
  const rigs = cells.map((c) => {
    const top = topHeight(c.joints);
    const targetY = top * 0.48;
    const track = followTrack(c.joints, c.frames, fps, targetY);
    const azimuthRad = initialHeading(c.joints, c.frames, fps) + CAMERA_YAW_OFFSET_RAD;
    const distance = requiredDistance(
      c.joints,
      c.frames,
      track,
      azimuthRad,
      CAMERA_ELEVATION_DEG,
      CAMERA_FOV_DEG,
      aspect,
    );
    return { fovDeg: CAMERA_FOV_DEG, elevationDeg: CAMERA_ELEVATION_DEG, azimuthRad, distance, track, aspect };
  });
  const shared = Math.max(...rigs.map((r) => r.distance));
  for (const r of rigs) r.distance = shared;
  return rigs;
}

/** Projects a world point with a rig at frame i into NDC (x, y), for tests and sanity checks. */
export function projectToNdc(rig: CameraRig, i: number, p: readonly [number, number, number]): [number, number] {
  const el = (rig.elevationDeg * Math.PI) / 180;
  const back = [Math.sin(rig.azimuthRad) * Math.cos(el), Math.sin(el), Math.cos(rig.azimuthRad) * Math.cos(el)];
  const right = [Math.cos(rig.azimuthRad), 0, -Math.sin(rig.azimuthRad)];
  const up = [
    back[1] * right[2] - back[2] * right[1],
    back[2] * right[0] - back[0] * right[2],
    back[0] * right[1] - back[1] * right[0],
  ];
  const r = [p[0] - rig.track[i * 3], p[1] - rig.track[i * 3 + 1], p[2] - rig.track[i * 3 + 2]];
  const x = r[0] * right[0] + r[1] * right[1] + r[2] * right[2];
  const y = r[0] * up[0] + r[1] * up[1] + r[2] * up[2];
  const depth = rig.distance - (r[0] * back[0] + r[1] * back[1] + r[2] * back[2]);
  const t = Math.tan((rig.fovDeg * Math.PI) / 360);
  return [x / (depth * t * rig.aspect), y / (depth * t)];
}
