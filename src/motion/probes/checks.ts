/**
 * Physical checks for acting probes: does a motion (T×22×3 metres, Y up, SMPL joint order, floor at y = 0)
 * show what was asked — hands on the floor, the pelvis low, the left wrist above the head and not the right,
 * an airborne phase, a turn to the left, a step backwards …? Pure functions over joint positions, so the same
 * check scores mocap clips (to set its thresholds) and generated motions (to test the model).
 *
 * Directions are the body's, taken at the first frame: the data's rest pose faces +Z with the subject's left
 * on +X, the facing is HumanML3D's (up × (right − left across hips and shoulders)), and a turn to the left
 * raises the yaw atan2(facing.x, facing.z).
 */
import { z } from 'zod';
import { JOINT, JOINT_NAMES, NUM_JOINTS } from '../skeleton.js';

const POS = NUM_JOINTS * 3;

export const SideSchema = z.enum(['left', 'right']);
export type Side = z.infer<typeof SideSchema>;
const Fraction = z.number().min(0).max(1);
const Metres = z.number().min(-1).max(5);

/** Every check kind, as it is written in a probe file. */
export const CheckSchema = z.discriminatedUnion('check', [
  /** The pelvis is below `height` in at least `fraction` of the frames (crouch, sit, kneel, lie). */
  z.object({ check: z.literal('pelvis-below'), height: Metres, fraction: Fraction }).strict(),
  /** The pelvis stays above `height` in at least `fraction` of the frames (stands, does not sink). */
  z.object({ check: z.literal('pelvis-above'), height: Metres, fraction: Fraction }).strict(),
  /** Both (or either) wrists are below `height` in at least `fraction` of the frames. */
  z
    .object({
      check: z.literal('hands-on-floor'),
      height: Metres,
      fraction: Fraction,
      hands: z.enum(['both', 'either']).default('both'),
    })
    .strict(),
  /**
   * On hands (or forearms) and knees: pelvis below `pelvis`, both wrists below `hands`, the torso within `tilt`° of
   * horizontal and the pelvis at least `kneel` above both knees (thighs down, unlike lying or sitting), at once, in
   * at least `fraction` of the frames.
   */
  z
    .object({
      check: z.literal('on-all-fours'),
      pelvis: Metres,
      hands: Metres,
      tilt: z.number().min(0).max(90).default(45),
      kneel: Metres.default(0.08),
      fraction: Fraction,
    })
    .strict(),
  /**
   * Lying: the torso (pelvis → neck) within `tilt`° of horizontal, the pelvis below `pelvis` and less than `legs`
   * above the knees (legs stretched out, unlike a crawl on the knees), and the head below `head`, in `fraction` of the frames.
   */
  z
    .object({
      check: z.literal('lying'),
      tilt: z.number().min(0).max(90),
      pelvis: Metres,
      legs: Metres.default(0.1),
      head: Metres.default(5),
      fraction: Fraction,
    })
    .strict(),
  /**
   * The asked wrist is above `above` (head or shoulder) + `margin` in at least `fraction` of the frames; with
   * `side: both` both wrists at once. `otherAtMost`: the other wrist is up in at most that fraction (sides).
   */
  z
    .object({
      check: z.literal('wrist-above'),
      side: z.enum(['left', 'right', 'both', 'either']),
      above: z.enum(['head', 'shoulder']),
      margin: z.number().min(-1).max(1).default(0),
      fraction: Fraction,
      otherAtMost: Fraction.optional(),
    })
    .strict(),
  /** No joint within `clearance` of the floor for at least `frames` frames (all feet and hands off the ground). */
  z.object({ check: z.literal('airborne'), clearance: Metres, frames: z.number().int().positive() }).strict(),
  /** The facing at the end (mean of the last 5 frames) turned at least `degrees` to `side` from the start. */
  z.object({ check: z.literal('turn'), side: SideSchema, degrees: z.number().min(0).max(720) }).strict(),
  /** The facing sweeps through at least `degrees` in total (either way) at some point of the clip. */
  z.object({ check: z.literal('spin'), degrees: z.number().min(0).max(1440) }).strict(),
  /**
   * The pelvis ends at least `metres` away along the start's forward / backward / left / right; with `dominant`,
   * also further along that axis than across it (a sidestep, not a walk that drifts sideways).
   */
  z
    .object({
      check: z.literal('displacement'),
      direction: z.enum(['forward', 'backward', 'left', 'right']),
      metres: z.number().min(0).max(20),
      dominant: z.boolean().default(false),
    })
    .strict(),
  /** The pelvis travels at most `metres` horizontally from its start at any frame (stays in place). */
  z.object({ check: z.literal('stays'), metres: z.number().min(0).max(20) }).strict(),
  /** Both wrists at least `reach` in front of their shoulders (body frame of that frame) and no lower than `drop` under them, in `fraction` of the frames. */
  z.object({ check: z.literal('arms-forward'), reach: Metres, drop: Metres.default(0.3), fraction: Fraction }).strict(),
  /**
   * The asked side's `joint` (ankle or knee) rises at least `height` above the floor at some frame, and at least
   * `margin` higher than the other side's same joint ever does (a kick or knee lift on that side).
   */
  z
    .object({
      check: z.literal('raised'),
      side: SideSchema,
      joint: z.enum(['ankle', 'knee']),
      height: Metres,
      margin: Metres.default(0),
    })
    .strict(),
  /** The asked wrist (or either) reaches at least `reach` in front of its shoulder at some frame, `margin` further than the other ever does (a punch). */
  z
    .object({
      check: z.literal('reach'),
      side: z.enum(['left', 'right', 'either']),
      reach: Metres,
      margin: Metres.default(0),
    })
    .strict(),
  /**
   * The wrists are at least `span` apart in at least `fraction` of the frames (arms spread like wings); with
   * `of: 'arm-span'`, `span` is a share of the body's own wrist-to-wrist reach with straight arms (a T-pose is 1),
   * so a small body is held to the same posture as a tall one.
   */
  z
    .object({
      check: z.literal('arms-spread'),
      span: Metres,
      of: z.enum(['metres', 'arm-span']).default('metres'),
      fraction: Fraction,
    })
    .strict(),
  /** The wrists are at most `apart` from each other and `reach` in front of the pelvis in `fraction` of the frames (hands joined in front). */
  z.object({ check: z.literal('hands-together'), apart: Metres, reach: Metres, fraction: Fraction }).strict(),
  /** All (or any) of the listed joints are below `height` in at least `fraction` of the frames (knees on the floor). */
  z
    .object({
      check: z.literal('joint-below'),
      joints: z.array(z.enum(JOINT_NAMES)).min(1),
      mode: z.enum(['all', 'any']).default('all'),
      height: Metres,
      fraction: Fraction,
    })
    .strict(),
  /** Each listed joint's height spans at least `range` (5th to 95th percentile): flapping, stroking, bobbing. */
  z
    .object({
      check: z.literal('height-range'),
      joints: z.array(z.enum(['left_wrist', 'right_wrist', 'left_elbow', 'right_elbow', 'pelvis', 'head'])).min(1),
      range: Metres,
    })
    .strict(),
]);
export type Check = z.infer<typeof CheckSchema>;
export type CheckInput = z.input<typeof CheckSchema>;

export interface CheckResult {
  pass: boolean;
  /** The measured quantity the threshold was compared with (fraction, metres, degrees or frames). */
  value: number;
  /** One line: what was measured against what. */
  detail: string;
}

// ---------------------------------------------------------------- joint access

const y = (j: Float32Array, t: number, k: number): number => j[t * POS + k * 3 + 1];
const xz = (j: Float32Array, t: number, k: number): [number, number] => [j[t * POS + k * 3], j[t * POS + k * 3 + 2]];

function frameCount(joints: Float32Array): number {
  if (joints.length === 0 || joints.length % POS !== 0)
    throw new Error(`probe check: expected T×${NUM_JOINTS}×3 joint positions, got ${joints.length} values`);
  return joints.length / POS;
}

function fractionOf(T: number, when: (t: number) => boolean): number {
  let n = 0;
  for (let t = 0; t < T; t++) if (when(t)) n++;
  return n / T;
}

const WRIST = { left: JOINT.left_wrist, right: JOINT.right_wrist } as const;
const SHOULDER = { left: JOINT.left_shoulder, right: JOINT.right_shoulder } as const;
const ANKLE = { left: JOINT.left_ankle, right: JOINT.right_ankle } as const;
const KNEE = { left: JOINT.left_knee, right: JOINT.right_knee } as const;
const other = (s: Side): Side => (s === 'left' ? 'right' : 'left');

/**
 * Unit facing (x, z) at frame t: up × (right − left), as HumanML3D computes it, across hips and shoulders
 * (`torso`) or the hips alone (`hips`: arm offsets are measured in it, so a punch's shoulder twist does not
 * turn the frame it is measured in).
 */
export function facing(joints: Float32Array, t: number, over: 'torso' | 'hips' = 'torso'): [number, number] {
  const [rhx, rhz] = xz(joints, t, JOINT.right_hip);
  const [lhx, lhz] = xz(joints, t, JOINT.left_hip);
  let ax = rhx - lhx;
  let az = rhz - lhz;
  if (over === 'torso') {
    const [rsx, rsz] = xz(joints, t, JOINT.right_shoulder);
    const [lsx, lsz] = xz(joints, t, JOINT.left_shoulder);
    ax += rsx - lsx;
    az += rsz - lsz;
  }
  const n = Math.hypot(az, ax) || 1;
  return [az / n, -ax / n];
}

/** Yaw per frame in degrees, unwrapped so a full spin reads 360 rather than jumping back to 0. */
export function yawDegrees(joints: Float32Array): Float64Array {
  const T = frameCount(joints);
  const out = new Float64Array(T);
  let prev = 0;
  for (let t = 0; t < T; t++) {
    const [fx, fz] = facing(joints, t);
    let a = (Math.atan2(fx, fz) * 180) / Math.PI;
    if (t > 0) {
      while (a - prev > 180) a -= 360;
      while (a - prev < -180) a += 360;
    }
    out[t] = a;
    prev = a;
  }
  return out;
}

/** Offset of joint k from joint `from` at frame t in that frame's body axes: [forward, left, up]. */
function bodyOffset(joints: Float32Array, t: number, k: number, from: number): [number, number, number] {
  const [fx, fz] = facing(joints, t, 'hips');
  const [kx, kz] = xz(joints, t, k);
  const [ox, oz] = xz(joints, t, from);
  const dx = kx - ox;
  const dz = kz - oz;
  // left = up × forward = (fz, −fx)
  return [dx * fx + dz * fz, dx * fz - dz * fx, y(joints, t, k) - y(joints, t, from)];
}

function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const at = p * (s.length - 1);
  const lo = Math.floor(at);
  return s[lo] + (s[Math.ceil(at)] - s[lo]) * (at - lo);
}

const f2 = (x: number): string => x.toFixed(2);
const pct = (x: number): string => `${Math.round(x * 100)} %`;

// ---------------------------------------------------------------- the checks

type Of<K extends Check['check']> = Extract<Check, { check: K }>;

function pelvisBelow(j: Float32Array, c: Of<'pelvis-below'>): CheckResult {
  const T = frameCount(j);
  const v = fractionOf(T, (t) => y(j, t, JOINT.pelvis) < c.height);
  return {
    pass: v >= c.fraction,
    value: v,
    detail: `pelvis below ${c.height} m in ${pct(v)} of frames (need ${pct(c.fraction)})`,
  };
}

function pelvisAbove(j: Float32Array, c: Of<'pelvis-above'>): CheckResult {
  const T = frameCount(j);
  const v = fractionOf(T, (t) => y(j, t, JOINT.pelvis) > c.height);
  return {
    pass: v >= c.fraction,
    value: v,
    detail: `pelvis above ${c.height} m in ${pct(v)} of frames (need ${pct(c.fraction)})`,
  };
}

function handsOnFloor(j: Float32Array, c: Of<'hands-on-floor'>): CheckResult {
  const T = frameCount(j);
  const low = (t: number, s: Side): boolean => y(j, t, WRIST[s]) < c.height;
  const v = fractionOf(T, (t) =>
    c.hands === 'both' ? low(t, 'left') && low(t, 'right') : low(t, 'left') || low(t, 'right'),
  );
  return {
    pass: v >= c.fraction,
    value: v,
    detail: `${c.hands === 'both' ? 'both wrists' : 'a wrist'} below ${c.height} m in ${pct(v)} of frames (need ${pct(c.fraction)})`,
  };
}

/** How far the pelvis is above the higher (`max`) or the mean of the two knees at frame t. */
function pelvisOverKnees(j: Float32Array, t: number, knees: 'max' | 'mean'): number {
  const l = y(j, t, KNEE.left);
  const r = y(j, t, KNEE.right);
  return y(j, t, JOINT.pelvis) - (knees === 'max' ? Math.max(l, r) : (l + r) / 2);
}

function onAllFours(j: Float32Array, c: Of<'on-all-fours'>): CheckResult {
  const T = frameCount(j);
  const v = fractionOf(
    T,
    (t) =>
      y(j, t, JOINT.pelvis) < c.pelvis &&
      y(j, t, WRIST.left) < c.hands &&
      y(j, t, WRIST.right) < c.hands &&
      torsoElevation(j, t) <= c.tilt &&
      pelvisOverKnees(j, t, 'max') >= c.kneel,
  );
  return {
    pass: v >= c.fraction,
    value: v,
    detail: `pelvis < ${c.pelvis} m and ≥ ${c.kneel} m above the knees, both wrists < ${c.hands} m, torso within ${c.tilt}° of horizontal, in ${pct(v)} of frames (need ${pct(c.fraction)})`,
  };
}

/** Elevation of the pelvis → neck vector above the horizontal, degrees (90 = upright). */
function torsoElevation(j: Float32Array, t: number): number {
  const [px, pz] = xz(j, t, JOINT.pelvis);
  const [nx, nz] = xz(j, t, JOINT.neck);
  const dy = y(j, t, JOINT.neck) - y(j, t, JOINT.pelvis);
  return (Math.atan2(Math.abs(dy), Math.hypot(nx - px, nz - pz)) * 180) / Math.PI;
}

function lying(j: Float32Array, c: Of<'lying'>): CheckResult {
  const T = frameCount(j);
  const v = fractionOf(
    T,
    (t) =>
      torsoElevation(j, t) <= c.tilt &&
      y(j, t, JOINT.pelvis) < c.pelvis &&
      pelvisOverKnees(j, t, 'mean') < c.legs &&
      y(j, t, JOINT.head) < c.head,
  );
  return {
    pass: v >= c.fraction,
    value: v,
    detail: `torso within ${c.tilt}° of horizontal, pelvis < ${c.pelvis} m and < ${c.legs} m above the knees${c.head < 5 ? `, head < ${c.head} m` : ''}, in ${pct(v)} of frames (need ${pct(c.fraction)})`,
  };
}

function wristAbove(j: Float32Array, c: Of<'wrist-above'>): CheckResult {
  const T = frameCount(j);
  const up = (t: number, s: Side): boolean => {
    const ref = c.above === 'head' ? y(j, t, JOINT.head) : y(j, t, SHOULDER[s]);
    return y(j, t, WRIST[s]) > ref + c.margin;
  };
  const side = c.side;
  const v = fractionOf(T, (t) =>
    side === 'both'
      ? up(t, 'left') && up(t, 'right')
      : side === 'either'
        ? up(t, 'left') || up(t, 'right')
        : up(t, side),
  );
  const where = `${side === 'both' || side === 'either' ? `${side} wrist${side === 'both' ? 's' : ''}` : `${side} wrist`} above the ${c.above}${c.margin ? ` + ${c.margin} m` : ''}`;
  if (side === 'both' || side === 'either' || c.otherAtMost === undefined)
    return { pass: v >= c.fraction, value: v, detail: `${where} in ${pct(v)} of frames (need ${pct(c.fraction)})` };
  const o = fractionOf(T, (t) => up(t, other(side)));
  return {
    pass: v >= c.fraction && o <= c.otherAtMost,
    value: v,
    detail: `${where} in ${pct(v)} of frames (need ${pct(c.fraction)}); the ${other(side)} wrist in ${pct(o)} (at most ${pct(c.otherAtMost)})`,
  };
}

function airborne(j: Float32Array, c: Of<'airborne'>): CheckResult {
  const T = frameCount(j);
  let n = 0;
  for (let t = 0; t < T; t++) {
    let lowest = Infinity;
    for (let k = 0; k < NUM_JOINTS; k++) lowest = Math.min(lowest, y(j, t, k));
    if (lowest > c.clearance) n++;
  }
  return {
    pass: n >= c.frames,
    value: n,
    detail: `${n} frames with every joint above ${c.clearance} m (need ${c.frames})`,
  };
}

function meanOf(xs: Float64Array, from: number, to: number): number {
  let s = 0;
  for (let t = from; t < to; t++) s += xs[t];
  return s / (to - from);
}

function turn(j: Float32Array, c: Of<'turn'>): CheckResult {
  const yaw = yawDegrees(j);
  const k = Math.min(5, yaw.length);
  const change = meanOf(yaw, yaw.length - k, yaw.length) - meanOf(yaw, 0, k);
  const v = c.side === 'left' ? change : -change;
  return {
    pass: v >= c.degrees,
    value: v,
    detail: `turned ${f2(Math.abs(change))}° to the ${change >= 0 ? 'left' : 'right'} (need ${c.degrees}° to the ${c.side})`,
  };
}

function spin(j: Float32Array, c: Of<'spin'>): CheckResult {
  const yaw = yawDegrees(j);
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of yaw) {
    lo = Math.min(lo, a);
    hi = Math.max(hi, a);
  }
  const v = hi - lo;
  return { pass: v >= c.degrees, value: v, detail: `facing swept ${f2(v)}° (need ${c.degrees}°)` };
}

function displacement(j: Float32Array, c: Of<'displacement'>): CheckResult {
  const T = frameCount(j);
  const [fx, fz] = facing(j, 0);
  const [x0, z0] = xz(j, 0, JOINT.pelvis);
  const [x1, z1] = xz(j, T - 1, JOINT.pelvis);
  const forward = (x1 - x0) * fx + (z1 - z0) * fz;
  const left = (x1 - x0) * fz - (z1 - z0) * fx;
  const v = { forward, backward: -forward, left, right: -left }[c.direction];
  const across = c.direction === 'forward' || c.direction === 'backward' ? Math.abs(left) : Math.abs(forward);
  return {
    pass: v >= c.metres && (!c.dominant || v >= across),
    value: v,
    detail: `pelvis ended ${f2(forward)} m forward, ${f2(left)} m left of its start (need ${c.metres} m ${c.direction}${c.dominant ? ', more than across' : ''})`,
  };
}

function stays(j: Float32Array, c: Of<'stays'>): CheckResult {
  const T = frameCount(j);
  const [x0, z0] = xz(j, 0, JOINT.pelvis);
  let v = 0;
  for (let t = 1; t < T; t++) {
    const [x, z] = xz(j, t, JOINT.pelvis);
    v = Math.max(v, Math.hypot(x - x0, z - z0));
  }
  return {
    pass: v <= c.metres,
    value: v,
    detail: `pelvis went at most ${f2(v)} m from its start (allowed ${c.metres} m)`,
  };
}

function armsForward(j: Float32Array, c: Of<'arms-forward'>): CheckResult {
  const T = frameCount(j);
  const ahead = (t: number, s: Side): boolean => {
    const [fwd, , up] = bodyOffset(j, t, WRIST[s], SHOULDER[s]);
    return fwd >= c.reach && up >= -c.drop;
  };
  const v = fractionOf(T, (t) => ahead(t, 'left') && ahead(t, 'right'));
  return {
    pass: v >= c.fraction,
    value: v,
    detail: `both wrists ≥ ${c.reach} m in front of the shoulders (≤ ${c.drop} m under them) in ${pct(v)} of frames (need ${pct(c.fraction)})`,
  };
}

function maxOver(T: number, f: (t: number) => number): number {
  let m = -Infinity;
  for (let t = 0; t < T; t++) m = Math.max(m, f(t));
  return m;
}

function raised(j: Float32Array, c: Of<'raised'>): CheckResult {
  const T = frameCount(j);
  const joint = c.joint === 'ankle' ? ANKLE : KNEE;
  const mine = maxOver(T, (t) => y(j, t, joint[c.side]));
  const theirs = maxOver(T, (t) => y(j, t, joint[other(c.side)]));
  return {
    pass: mine >= c.height && mine - theirs >= c.margin,
    value: mine,
    detail: `${c.side} ${c.joint} up to ${f2(mine)} m (need ${c.height}), the ${other(c.side)} to ${f2(theirs)} m (need ${c.margin} m less)`,
  };
}

function reach(j: Float32Array, c: Of<'reach'>): CheckResult {
  const T = frameCount(j);
  const forward = (s: Side): number => maxOver(T, (t) => bodyOffset(j, t, WRIST[s], SHOULDER[s])[0]);
  if (c.side === 'either') {
    const v = Math.max(forward('left'), forward('right'));
    return {
      pass: v >= c.reach,
      value: v,
      detail: `a wrist up to ${f2(v)} m in front of its shoulder (need ${c.reach})`,
    };
  }
  const mine = forward(c.side);
  const theirs = forward(other(c.side));
  return {
    pass: mine >= c.reach && mine - theirs >= c.margin,
    value: mine,
    detail: `${c.side} wrist up to ${f2(mine)} m in front of its shoulder (need ${c.reach}), the ${other(c.side)} ${f2(theirs)} m (need ${c.margin} m less)`,
  };
}

function armsSpread(j: Float32Array, c: Of<'arms-spread'>): CheckResult {
  const T = frameCount(j);
  const span = (t: number): number => {
    const o = t * POS;
    const l = WRIST.left * 3;
    const r = WRIST.right * 3;
    return Math.hypot(j[o + l] - j[o + r], j[o + l + 1] - j[o + r + 1], j[o + l + 2] - j[o + r + 2]);
  };
  const need = c.of === 'arm-span' ? c.span * armSpan(j) : c.span;
  const v = fractionOf(T, (t) => span(t) >= need);
  return {
    pass: v >= c.fraction,
    value: v,
    detail: `wrists ≥ ${f2(need)} m apart${c.of === 'arm-span' ? ` (${c.span} of the arm span)` : ''} in ${pct(v)} of frames (need ${pct(c.fraction)})`,
  };
}

/** Wrist-to-wrist reach with straight arms: forearms, upper arms and the shoulders' distance (bone lengths, frame 0). */
function armSpan(j: Float32Array): number {
  const d = (a: number, b: number) =>
    Math.hypot(j[a * 3] - j[b * 3], j[a * 3 + 1] - j[b * 3 + 1], j[a * 3 + 2] - j[b * 3 + 2]);
  const arm = (s: Side) => d(WRIST[s], JOINT[`${s}_elbow`]) + d(JOINT[`${s}_elbow`], SHOULDER[s]);
  return arm('left') + arm('right') + d(SHOULDER.left, SHOULDER.right);
}

function handsTogether(j: Float32Array, c: Of<'hands-together'>): CheckResult {
  const T = frameCount(j);
  const close = (t: number): boolean => {
    const o = t * POS;
    const l = WRIST.left * 3;
    const r = WRIST.right * 3;
    const apart = Math.hypot(j[o + l] - j[o + r], j[o + l + 1] - j[o + r + 1], j[o + l + 2] - j[o + r + 2]);
    const fwd = (bodyOffset(j, t, WRIST.left, JOINT.pelvis)[0] + bodyOffset(j, t, WRIST.right, JOINT.pelvis)[0]) / 2;
    return apart <= c.apart && fwd >= c.reach;
  };
  const v = fractionOf(T, close);
  return {
    pass: v >= c.fraction,
    value: v,
    detail: `wrists within ${c.apart} m of each other and ≥ ${c.reach} m in front of the pelvis in ${pct(v)} of frames (need ${pct(c.fraction)})`,
  };
}

function heightRange(j: Float32Array, c: Of<'height-range'>): CheckResult {
  const T = frameCount(j);
  const ranges = c.joints.map((name) => {
    const hs = Array.from({ length: T }, (_, t) => y(j, t, JOINT[name]));
    return quantile(hs, 0.95) - quantile(hs, 0.05);
  });
  const v = Math.min(...ranges);
  return {
    pass: v >= c.range,
    value: v,
    detail: `height range of ${c.joints.join(', ')}: ${ranges.map(f2).join(', ')} m (need ${c.range} m each)`,
  };
}

function jointBelow(j: Float32Array, c: Of<'joint-below'>): CheckResult {
  const T = frameCount(j);
  const low = (t: number, name: (typeof JOINT_NAMES)[number]): boolean => y(j, t, JOINT[name]) < c.height;
  const v = fractionOf(T, (t) =>
    c.mode === 'all' ? c.joints.every((n) => low(t, n)) : c.joints.some((n) => low(t, n)),
  );
  return {
    pass: v >= c.fraction,
    value: v,
    detail: `${c.mode} of ${c.joints.join(', ')} below ${c.height} m in ${pct(v)} of frames (need ${pct(c.fraction)})`,
  };
}

/** Runs one check on joint positions (T×22×3). */
export function runCheck(joints: Float32Array, check: Check): CheckResult {
  switch (check.check) {
    case 'pelvis-below':
      return pelvisBelow(joints, check);
    case 'pelvis-above':
      return pelvisAbove(joints, check);
    case 'hands-on-floor':
      return handsOnFloor(joints, check);
    case 'on-all-fours':
      return onAllFours(joints, check);
    case 'lying':
      return lying(joints, check);
    case 'wrist-above':
      return wristAbove(joints, check);
    case 'airborne':
      return airborne(joints, check);
    case 'turn':
      return turn(joints, check);
    case 'spin':
      return spin(joints, check);
    case 'displacement':
      return displacement(joints, check);
    case 'stays':
      return stays(joints, check);
    case 'arms-forward':
      return armsForward(joints, check);
    case 'raised':
      return raised(joints, check);
    case 'reach':
      return reach(joints, check);
    case 'arms-spread':
      return armsSpread(joints, check);
    case 'hands-together':
      return handsTogether(joints, check);
    case 'joint-below':
      return jointBelow(joints, check);
    case 'height-range':
      return heightRange(joints, check);
  }
}

/** Parses one check written as data, with a message naming what is wrong. */
export function parseCheck(input: unknown, where: string): Check {
  const r = CheckSchema.safeParse(input);
  if (!r.success)
    throw new Error(
      `${where}: ${r.error.issues.map((i) => `${i.path.join('.') || 'check'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}
