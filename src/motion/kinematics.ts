/**
 * Rotation math and kinematics for the motion module. Quaternions are (w, x, y, z), unit length,
 * acting on column vectors; matrices are 3×3 row-major. Euler angles follow BVH: the channel list
 * "Zrotation Xrotation Yrotation" means R = Rz · Rx · Ry (intrinsic order ZXY), angles in degrees.
 */
import { MIRROR, NUM_JOINTS, PARENTS } from './skeleton.js';

export type Vec3 = [number, number, number];
export type Quat = [number, number, number, number];
export type EulerOrder = 'XYZ' | 'XZY' | 'YXZ' | 'YZX' | 'ZXY' | 'ZYX';
export const EULER_ORDERS: readonly EulerOrder[] = ['XYZ', 'XZY', 'YXZ', 'YZX', 'ZXY', 'ZYX'];

type QuatLike = ArrayLike<number>;
type VecLike = ArrayLike<number>;

const DEG = Math.PI / 180;

export const QUAT_IDENTITY: Readonly<Quat> = [1, 0, 0, 0];

export function quatMultiply(a: QuatLike, b: QuatLike): Quat {
  const aw = a[0],
    ax = a[1],
    ay = a[2],
    az = a[3];
  const bw = b[0],
    bx = b[1],
    by = b[2],
    bz = b[3];
  return [
    aw * bw - ax * bx - ay * by - az * bz,
    aw * bx + ax * bw + ay * bz - az * by,
    aw * by - ax * bz + ay * bw + az * bx,
    aw * bz + ax * by - ay * bx + az * bw,
  ];
}

export function quatConjugate(q: QuatLike): Quat {
  return [q[0], -q[1], -q[2], -q[3]];
}

/** Scales q to unit length; a zero quaternion (no rotation information) becomes the identity. */
export function quatNormalize(q: QuatLike): Quat {
  const n = Math.hypot(q[0], q[1], q[2], q[3]);
  if (!(n > 1e-12)) return [1, 0, 0, 0];
  return [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
}

export function quatRotate(q: QuatLike, v: VecLike): Vec3 {
  const w = q[0],
    x = q[1],
    y = q[2],
    z = q[3];
  // v' = v + 2w(u×v) + 2u×(u×v), u = (x,y,z): cheaper than two quaternion products.
  const tx = 2 * (y * v[2] - z * v[1]);
  const ty = 2 * (z * v[0] - x * v[2]);
  const tz = 2 * (x * v[1] - y * v[0]);
  return [v[0] + w * tx + (y * tz - z * ty), v[1] + w * ty + (z * tx - x * tz), v[2] + w * tz + (x * ty - y * tx)];
}

export function quatDot(a: QuatLike, b: QuatLike): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
}

/** Angle in radians of the rotation that takes a to b (q and −q count as the same rotation). */
export function quatAngleBetween(a: QuatLike, b: QuatLike): number {
  const d = Math.min(1, Math.abs(quatDot(quatNormalize(a), quatNormalize(b))));
  return 2 * Math.acos(d);
}

/** Normalised linear interpolation along the shorter arc: cheap, and close to slerp for nearby frames. */
export function quatNlerp(a: QuatLike, b: QuatLike, t: number): Quat {
  const s = quatDot(a, b) < 0 ? -1 : 1;
  return quatNormalize([
    a[0] + (s * b[0] - a[0]) * t,
    a[1] + (s * b[1] - a[1]) * t,
    a[2] + (s * b[2] - a[2]) * t,
    a[3] + (s * b[3] - a[3]) * t,
  ]);
}

/** Spherical linear interpolation along the shorter arc (constant angular speed). */
export function quatSlerp(a: QuatLike, b: QuatLike, t: number): Quat {
  let d = quatDot(a, b);
  const s = d < 0 ? -1 : 1;
  d *= s;
  // Nearly parallel: sin(θ) → 0 makes the slerp weights unstable, and nlerp is exact enough there.
  if (d > 0.9995) return quatNlerp(a, b, t);
  const theta = Math.acos(d);
  const sinTheta = Math.sin(theta);
  const wa = Math.sin((1 - t) * theta) / sinTheta;
  const wb = (s * Math.sin(t * theta)) / sinTheta;
  return [wa * a[0] + wb * b[0], wa * a[1] + wb * b[1], wa * a[2] + wb * b[2], wa * a[3] + wb * b[3]];
}

/** Rotation of `angle` radians about `axis` (any length but zero). */
export function quatFromAxisAngle(axis: VecLike, angle: number): Quat {
  const n = Math.hypot(axis[0], axis[1], axis[2]);
  if (!(n > 1e-12)) throw new Error('quatFromAxisAngle: the axis has zero length');
  const s = Math.sin(angle / 2) / n;
  return [Math.cos(angle / 2), axis[0] * s, axis[1] * s, axis[2] * s];
}

/** 3×3 rotation matrix, row-major. */
export function quatToMatrix(q: QuatLike): number[] {
  const [w, x, y, z] = quatNormalize(q);
  return [
    1 - 2 * (y * y + z * z),
    2 * (x * y - w * z),
    2 * (x * z + w * y),
    2 * (x * y + w * z),
    1 - 2 * (x * x + z * z),
    2 * (y * z - w * x),
    2 * (x * z - w * y),
    2 * (y * z + w * x),
    1 - 2 * (x * x + y * y),
  ];
}

/** Quaternion of a 3×3 rotation matrix (row-major), by Shepperd's method (stable for every angle). */
export function quatFromMatrix(m: ArrayLike<number>): Quat {
  const m00 = m[0],
    m01 = m[1],
    m02 = m[2],
    m10 = m[3],
    m11 = m[4],
    m12 = m[5],
    m20 = m[6],
    m21 = m[7],
    m22 = m[8];
  const trace = m00 + m11 + m22;
  let q: Quat;
  if (trace > 0) {
    const s = 2 * Math.sqrt(1 + trace);
    q = [s / 4, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s];
  } else if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    q = [(m21 - m12) / s, s / 4, (m01 + m10) / s, (m02 + m20) / s];
  } else if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    q = [(m02 - m20) / s, (m01 + m10) / s, s / 4, (m12 + m21) / s];
  } else {
    const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
    q = [(m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, s / 4];
  }
  return quatNormalize(q[0] < 0 ? [-q[0], -q[1], -q[2], -q[3]] : q);
}

const AXIS_INDEX: Record<string, 0 | 1 | 2> = { X: 0, Y: 1, Z: 2 };

function axisIndices(order: EulerOrder): [0 | 1 | 2, 0 | 1 | 2, 0 | 1 | 2] {
  if (!EULER_ORDERS.includes(order))
    throw new Error(`unknown Euler order "${order}"; use one of ${EULER_ORDERS.join(', ')}`);
  return [AXIS_INDEX[order[0]], AXIS_INDEX[order[1]], AXIS_INDEX[order[2]]];
}

/** Rotation about a principal axis (0 = X, 1 = Y, 2 = Z) by `deg` degrees. */
export function quatAboutAxis(axis: 0 | 1 | 2, deg: number): Quat {
  const h = (deg * DEG) / 2;
  const q: Quat = [Math.cos(h), 0, 0, 0];
  q[axis + 1] = Math.sin(h);
  return q;
}

/**
 * Quaternion of intrinsic Euler angles in degrees, listed in the order of `order`
 * (for 'ZXY', angles = [z, x, y] and R = Rz · Rx · Ry, as in a BVH "Zrotation Xrotation Yrotation" list).
 */
export function quatFromEuler(anglesDeg: ArrayLike<number>, order: EulerOrder): Quat {
  const [i, j, k] = axisIndices(order);
  return quatMultiply(
    quatMultiply(quatAboutAxis(i, anglesDeg[0]), quatAboutAxis(j, anglesDeg[1])),
    quatAboutAxis(k, anglesDeg[2]),
  );
}

/**
 * Intrinsic Euler angles in degrees (in the order of `order`) of a quaternion; the inverse of quatFromEuler.
 * The middle angle lies in [−90°, 90°]; at gimbal lock the last angle is set to 0.
 */
export function eulerFromQuat(q: QuatLike, order: EulerOrder): Vec3 {
  const [i, j, k] = axisIndices(order);
  const m = quatToMatrix(q);
  const r = (row: number, col: number) => m[row * 3 + col];
  // Even permutations of XYZ (cyclic orders) and odd ones differ only in the signs of the off-diagonal terms.
  const sign = (j - i + 3) % 3 === 1 ? 1 : -1;
  const sinB = Math.max(-1, Math.min(1, sign * r(i, k)));
  const b = Math.asin(sinB);
  let a: number;
  let c: number;
  if (Math.abs(sinB) < 1 - 1e-9) {
    a = Math.atan2(-sign * r(j, k), r(k, k));
    c = Math.atan2(-sign * r(i, j), r(i, i));
  } else {
    a = Math.atan2(sign * r(k, j), r(j, j));
    c = 0;
  }
  return [a / DEG, b / DEG, c / DEG];
}

/** The smallest rotation that turns direction `from` onto direction `to` (neither needs unit length). */
export function quatSwing(from: VecLike, to: VecLike): Quat {
  const fa = Math.hypot(from[0], from[1], from[2]);
  const ta = Math.hypot(to[0], to[1], to[2]);
  if (!(fa > 1e-12) || !(ta > 1e-12)) return [1, 0, 0, 0];
  const f: Vec3 = [from[0] / fa, from[1] / fa, from[2] / fa];
  const t: Vec3 = [to[0] / ta, to[1] / ta, to[2] / ta];
  const d = f[0] * t[0] + f[1] * t[1] + f[2] * t[2];
  if (d < -1 + 1e-9) {
    // Opposite directions: any axis perpendicular to `from` gives a smallest (180°) rotation.
    const helper: Vec3 = Math.abs(f[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
    return quatFromAxisAngle(cross3(f, helper), Math.PI);
  }
  const c = cross3(f, t);
  return quatNormalize([1 + d, c[0], c[1], c[2]]);
}

export function cross3(a: VecLike, b: VecLike): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function dot3(a: VecLike, b: VecLike): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** Unit vector along v, or null for a (near) zero vector. */
export function normalize3(v: VecLike): Vec3 | null {
  const n = Math.hypot(v[0], v[1], v[2]);
  return n > 1e-12 ? [v[0] / n, v[1] / n, v[2] / n] : null;
}

/**
 * Orthonormal frame (columns x, y, z, row-major matrix) from an across axis and a rough up direction:
 * x = across, z = across × up, y = z × x. Null when the two are (nearly) parallel.
 */
function frameFromAcrossUp(across: VecLike, up: VecLike): number[] | null {
  const x = normalize3(across);
  if (!x) return null;
  const z = normalize3(cross3(x, up));
  if (!z) return null;
  const y = cross3(z, x);
  return [x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]];
}

/** Rotation taking the frame (across_rest, up_rest) onto (across_obs, up_obs); identity when either is degenerate. */
export function quatFromTwoVectors(acrossRest: VecLike, upRest: VecLike, acrossObs: VecLike, upObs: VecLike): Quat {
  const fr = frameFromAcrossUp(acrossRest, upRest);
  const fo = frameFromAcrossUp(acrossObs, upObs);
  if (!fr || !fo) return quatSwing(upRest, upObs);
  // G = F_obs · F_restᵀ.
  const g = new Array<number>(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++)
      g[r * 3 + c] = fo[r * 3] * fr[c * 3] + fo[r * 3 + 1] * fr[c * 3 + 1] + fo[r * 3 + 2] * fr[c * 3 + 2];
  }
  return quatFromMatrix(g);
}

function checkLength(name: string, arr: ArrayLike<number>, expected: number, shape: string): void {
  if (arr.length !== expected) throw new Error(`${name}: expected ${shape} = ${expected} values, got ${arr.length}`);
}

/**
 * Global joint positions from local rotations: R_world[0] = q[0], p[0] = root,
 * R_world[j] = R_world[parent]·q[j], p[j] = p[parent] + R_world[parent]·offset[j].
 * `parents` must list every parent before its children. Returns T×J×3.
 */
export function forwardKinematics(
  rotations: ArrayLike<number>,
  rootPositions: ArrayLike<number>,
  restOffsets: readonly (readonly number[])[],
  parents: readonly number[] = PARENTS,
): Float32Array {
  const J = parents.length;
  const T = rootPositions.length / 3;
  if (!Number.isInteger(T))
    throw new Error(`forwardKinematics: rootPositions must be T×3, got ${rootPositions.length} values`);
  checkLength('forwardKinematics: rotations', rotations, T * J * 4, `${T}×${J}×4`);
  if (restOffsets.length !== J)
    throw new Error(`forwardKinematics: expected ${J} rest offsets, got ${restOffsets.length}`);
  parents.forEach((p, j) => {
    if (p >= j) throw new Error(`forwardKinematics: parent ${p} of joint ${j} must come before it`);
  });
  const out = new Float32Array(T * J * 3);
  const world = new Float64Array(J * 4);
  const pos = new Float64Array(J * 3);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < J; j++) {
      const r = (t * J + j) * 4;
      const q: Quat = [rotations[r], rotations[r + 1], rotations[r + 2], rotations[r + 3]];
      const p = parents[j];
      if (p < 0) {
        world.set(q, j * 4);
        pos[j * 3] = rootPositions[t * 3];
        pos[j * 3 + 1] = rootPositions[t * 3 + 1];
        pos[j * 3 + 2] = rootPositions[t * 3 + 2];
      } else {
        const parentRot = world.subarray(p * 4, p * 4 + 4);
        const o = quatRotate(parentRot, restOffsets[j]);
        pos[j * 3] = pos[p * 3] + o[0];
        pos[j * 3 + 1] = pos[p * 3 + 1] + o[1];
        pos[j * 3 + 2] = pos[p * 3 + 2] + o[2];
        world.set(quatMultiply(parentRot, q), j * 4);
      }
    }
    out.set(pos, t * J * 3);
  }
  return out;
}

interface JointSolvePlan {
  kind: 'leaf' | 'swing' | 'frame';
  child: number;
  acrossPair: [number, number];
  up: number;
}

/** How each joint's rotation is found: leaves carry none, one child → swing, several → two-vector frame. */
function planJointSolve(parents: readonly number[]): JointSolvePlan[] {
  const children = parents.map((_, j) => parents.flatMap((p, c) => (p === j ? [c] : [])));
  return children.map((kids) => {
    if (kids.length === 0) return { kind: 'leaf', child: -1, acrossPair: [-1, -1], up: -1 };
    if (kids.length === 1) return { kind: 'swing', child: kids[0], acrossPair: [-1, -1], up: -1 };
    // The left/right pair (hips, collars) spans the across axis; the unpaired child (spine, neck) is "up".
    const paired = kids.filter((c) => MIRROR[c] !== c && kids.includes(MIRROR[c]));
    const up = kids.find((c) => !paired.includes(c)) ?? kids[0];
    const left = paired.length >= 2 ? paired[0] : kids[0];
    const right = paired.length >= 2 ? MIRROR[left] : kids[1];
    return { kind: 'frame', child: -1, acrossPair: [left, right], up };
  });
}

/**
 * Local rotations (T×22×4) that reproduce `joints` (T×22×3) by forwardKinematics with `restOffsets`, as
 * closely as the bone lengths allow. A joint with one child gets the smallest swing (in its parent's
 * frame) that points the rest bone at the observed child; pelvis and spine3 get a two-vector frame from
 * their left/right children (across) and their spine child (up); leaves get identity.
 */
export function rotationsFromJoints(
  joints: ArrayLike<number>,
  numFrames: number,
  restOffsets: readonly (readonly number[])[],
): Float32Array {
  const J = NUM_JOINTS;
  checkLength('rotationsFromJoints: joints', joints, numFrames * J * 3, `${numFrames}×${J}×3`);
  if (restOffsets.length !== J)
    throw new Error(`rotationsFromJoints: expected ${J} rest offsets, got ${restOffsets.length}`);
  const plan = planJointSolve(PARENTS);
  const out = new Float32Array(numFrames * J * 4);
  const world: Quat[] = new Array(J);
  const sub = (t: number, a: number, b: number): Vec3 => {
    const ia = (t * J + a) * 3,
      ib = (t * J + b) * 3;
    return [joints[ia] - joints[ib], joints[ia + 1] - joints[ib + 1], joints[ia + 2] - joints[ib + 2]];
  };
  const restDiff = (a: number, b: number): Vec3 => [
    restOffsets[a][0] - restOffsets[b][0],
    restOffsets[a][1] - restOffsets[b][1],
    restOffsets[a][2] - restOffsets[b][2],
  ];
  for (let t = 0; t < numFrames; t++) {
    for (let j = 0; j < J; j++) {
      const parentRot: Quat = PARENTS[j] < 0 ? [1, 0, 0, 0] : world[PARENTS[j]];
      const toParent = quatConjugate(parentRot);
      const step = plan[j];
      let local: Quat;
      if (step.kind === 'leaf') {
        local = [1, 0, 0, 0];
      } else if (step.kind === 'swing') {
        local = quatSwing(restOffsets[step.child], quatRotate(toParent, sub(t, step.child, j)));
      } else {
        const [l, r] = step.acrossPair;
        const globalRot = quatFromTwoVectors(restDiff(l, r), restOffsets[step.up], sub(t, l, r), sub(t, step.up, j));
        local = quatNormalize(quatMultiply(toParent, globalRot));
      }
      world[j] = quatNormalize(quatMultiply(parentRot, local));
      out.set(local, (t * J + j) * 4);
    }
  }
  return out;
}

/** Largest and mean distance between two T×J×3 position arrays (same units as the input). */
export function positionError(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number } {
  if (a.length !== b.length || a.length % 3 !== 0)
    throw new Error(`positionError: arrays differ in size (${a.length} vs ${b.length})`);
  let max = 0;
  let sum = 0;
  const n = a.length / 3;
  for (let i = 0; i < n; i++) {
    const d = Math.hypot(a[i * 3] - b[i * 3], a[i * 3 + 1] - b[i * 3 + 1], a[i * 3 + 2] - b[i * 3 + 2]);
    if (d > max) max = d;
    sum += d;
  }
  return { max, mean: n ? sum / n : 0 };
}
