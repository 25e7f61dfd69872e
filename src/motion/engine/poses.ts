/**
 * Poses for pose controls (init / last / key poses): the named poses of the request contract, frames of
 * earlier motions and uploaded BVH / JSON / NPY poses — all validated and put on the model's body.
 *
 * The model is trained on the Bandai-Namco body (REST_OFFSETS_BANDAI: legs 0.80 m), so every pose is
 * re-posed onto it: rotations are solved from (or read with) the source's own joints and replayed by FK on
 * the model's rest offsets. Named poses face +Z with the pelvis over the origin and the lowest joint at the
 * joint-centre height of a planted foot.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Motion, NamedPose, PoseRef } from '../contracts.js';
import { NAMED_POSES } from '../contracts.js';
import { openDataset, type Dataset } from '../dataset.js';
import { headingAngles } from '../features.js';
import { loadMotionFile } from '../formats.js';
import { forwardKinematics, quatAboutAxis, quatMultiply, rotationsFromJoints, type Quat } from '../kinematics.js';
import { defaultDataDir } from '../paths.js';
import {
  JOINT,
  JOINT_NAMES,
  NUM_JOINTS,
  PARENTS,
  REST_OFFSETS_BANDAI,
  boneLength,
  boneLengthsFromOffsets,
} from '../skeleton.js';
import { FOOT_JOINT_CLEARANCE } from '../transforms.js';

export const POSE_VALUES = NUM_JOINTS * 3;

/** The body every pose is put on (the training data's skeleton). */
export const MODEL_REST_OFFSETS = REST_OFFSETS_BANDAI;

export interface Pose {
  /** 22×3 global joint positions, metres, Y up. */
  joints: Float32Array<ArrayBuffer>;
  /** What the pose is, for provenance and messages (e.g. "named:sitting (data: accad_male1_a7_crouch#65)"). */
  label: string;
}

// ---------------------------------------------------------------- validation

const REST_BONES = boneLengthsFromOffsets(MODEL_REST_OFFSETS);

/**
 * Torso bones: spine1, spine2, spine3, neck, collars, shoulders, head. Skeletons cut the spine and the shoulder
 * girdle at different places (ACCAD's spine3 sits 27 cm below its neck, Bandai-Namco's 3 cm), so these bones
 * are only held to a loose bound; the limbs, whose joints every skeleton places alike, are what catches wrong
 * units or a wrong joint order.
 */
const TORSO_BONES = new Set([3, 6, 9, 12, 13, 14, 15, 16, 17]);

/**
 * Bones may differ from the model's body (other skeletons, children, SMPL's wider collars) but not absurdly:
 * a limb bone may be off by half its rest length or 8 cm, whichever is larger, a torso bone by 30 cm. Beyond
 * that the input is not a 22-joint human pose in metres (wrong units, wrong joint order).
 */
function boneAllowance(j: number): number {
  return Math.max(0.5 * REST_BONES[j], TORSO_BONES.has(j) ? 0.3 : 0.08);
}

/**
 * How strictly bone lengths are checked: `bones` holds every bone to the allowance above (uploads);
 * `scale` only requires the body's overall size to be human in metres, for frames of motions, whose bones a
 * generator may stretch a little and which are re-posed on the model's body anyway.
 */
export type PoseCheck = 'bones' | 'scale';

/** Checks a 22×3 pose (count, finite, plausible bone lengths) and returns it as a Float32Array. */
export function validatePose(
  joints: ArrayLike<number>,
  what = 'pose',
  check: PoseCheck = 'bones',
): Float32Array<ArrayBuffer> {
  if (joints.length !== POSE_VALUES) {
    throw new Error(`${what}: expected ${NUM_JOINTS} joints × 3 = ${POSE_VALUES} numbers, got ${joints.length}`);
  }
  for (let i = 0; i < POSE_VALUES; i++) {
    if (!Number.isFinite(joints[i])) {
      throw new Error(
        `${what}: ${JOINT_NAMES[Math.floor(i / 3)]}.${'xyz'[i % 3]} is ${joints[i]}, not a finite number`,
      );
    }
  }
  if (check === 'scale') {
    let total = 0;
    let rest = 0;
    for (let j = 1; j < NUM_JOINTS; j++) {
      total += boneLength(joints, j);
      rest += REST_BONES[j];
    }
    if (!(total > 0.5 * rest && total < 2 * rest)) {
      throw new Error(
        `${what}: the skeleton's bones add up to ${total.toFixed(3)} m, a human body is about ${rest.toFixed(2)} m (are the values metres?)`,
      );
    }
    return Float32Array.from(joints);
  }
  for (let j = 1; j < NUM_JOINTS; j++) {
    const len = boneLength(joints, j);
    if (Math.abs(len - REST_BONES[j]) > boneAllowance(j)) {
      throw new Error(
        `${what}: bone ${JOINT_NAMES[PARENTS[j]]} → ${JOINT_NAMES[j]} is ${len.toFixed(3)} m long, expected about ${REST_BONES[j].toFixed(3)} m ` +
          '(are the values metres, in SMPL/HumanML3D joint order?)',
      );
    }
  }
  return Float32Array.from(joints);
}

// ---------------------------------------------------------------- placement

function lowestJointY(joints: Float32Array): number {
  let y = Infinity;
  for (let j = 0; j < NUM_JOINTS; j++) y = Math.min(y, joints[j * 3 + 1]);
  return y;
}

/** Pelvis over the origin, lowest joint at planted-foot height (lying poses rest on the pelvis / head). */
function placeOnFloor(joints: Float32Array<ArrayBuffer>): Float32Array<ArrayBuffer> {
  const dx = -joints[0];
  const dz = -joints[2];
  const dy = FOOT_JOINT_CLEARANCE - lowestJointY(joints);
  for (let j = 0; j < NUM_JOINTS; j++) {
    joints[j * 3] += dx;
    joints[j * 3 + 1] += dy;
    joints[j * 3 + 2] += dz;
  }
  return joints;
}

/** FK of one frame of local rotations on the model's body, turned to face +Z and placed on the floor. */
function poseFromRotations(rotations: Float32Array, what: string): Float32Array<ArrayBuffer> {
  const root = new Float32Array(3);
  const first = forwardKinematics(rotations, root, MODEL_REST_OFFSETS, PARENTS);
  const heading = headingAngles(first, 1)[0];
  const turned = Float32Array.from(rotations);
  turned.set(
    quatMultiply(quatAboutAxis(1, (-heading * 180) / Math.PI), [
      rotations[0],
      rotations[1],
      rotations[2],
      rotations[3],
    ]),
    0,
  );
  const joints = Float32Array.from(forwardKinematics(turned, root, MODEL_REST_OFFSETS, PARENTS));
  return validatePose(placeOnFloor(joints), what);
}

/**
 * A pose from another body (an uploaded file, an earlier motion of any skeleton) on the model's body: the
 * bone directions are kept, the lengths become the model's, and the pelvis keeps its place and the lowest
 * joint its height (so a pose on the floor stays on the floor).
 */
export function conformPoseToModelBody(
  joints: Float32Array,
  what = 'pose',
  check: PoseCheck = 'bones',
): Float32Array<ArrayBuffer> {
  validatePose(joints, what, check);
  const rotations = rotationsFromJoints(joints, 1, MODEL_REST_OFFSETS);
  const root = Float32Array.from(joints.subarray(0, 3));
  const out = Float32Array.from(forwardKinematics(rotations, root, MODEL_REST_OFFSETS, PARENTS));
  const dy = lowestJointY(joints) - lowestJointY(out);
  for (let j = 0; j < NUM_JOINTS; j++) out[j * 3 + 1] += dy;
  return out;
}

// ---------------------------------------------------------------- named poses by joint angles

type AngleSpec = Partial<Record<keyof typeof JOINT, [axis: 0 | 1 | 2, deg: number][]>>;

const ARMS_DOWN: AngleSpec = { left_shoulder: [[2, -80]], right_shoulder: [[2, 80]] };

/** The same joint angles on the body's other side: left ↔ right joints, rotations about Y and Z reversed (the X = 0 mirror). */
function mirrorSpec(spec: AngleSpec): AngleSpec {
  const out: AngleSpec = {};
  for (const [name, steps] of Object.entries(spec) as [keyof typeof JOINT, [0 | 1 | 2, number][]][]) {
    const other = name.startsWith('left_')
      ? name.replace('left_', 'right_')
      : name.startsWith('right_')
        ? name.replace('right_', 'left_')
        : name;
    out[other as keyof typeof JOINT] = steps.map(([axis, deg]) => [axis, axis === 0 ? deg : -deg]);
  }
  return out;
}

/** A left-side spec and its mirror together (both arms doing the same thing). */
const mirrorPair = (left: AngleSpec): AngleSpec => ({ ...left, ...mirrorSpec(left) });

/** `NAME-left` and `NAME-right` from the left side's spec. */
function sided<N extends string>(name: N, left: AngleSpec): Record<`${N}-left` | `${N}-right`, AngleSpec> {
  return { [`${name}-left`]: left, [`${name}-right`]: mirrorSpec(left) } as Record<
    `${N}-left` | `${N}-right`,
    AngleSpec
  >;
}

/** Upper arm forward and down, forearm bent up: the fist in front of the chin (boxing guard). */
const GUARD_LEFT: AngleSpec = {
  left_shoulder: [
    [0, 40],
    [1, -70],
  ],
  left_elbow: [
    [1, -120],
    [2, 60],
  ],
};
const GUARD = { left: GUARD_LEFT, right: mirrorSpec(GUARD_LEFT) };
/** The arm straight forward at shoulder height. */
const FORWARD_LEFT: AngleSpec = { left_shoulder: [[1, -90]] };
const FORWARD = { left: FORWARD_LEFT, right: mirrorSpec(FORWARD_LEFT) };
/** The left fist thrown straight forward, the right held in guard, the body turned a little into the punch. */
const PUNCH_LEFT: AngleSpec = { ...FORWARD_LEFT, ...GUARD.right, spine3: [[1, -15]] };
/** The left leg swung straight forward to hip height, arms out a little for balance, the torso leaning back. */
const KICK_LEFT: AngleSpec = {
  left_shoulder: [[2, -60]],
  right_shoulder: [[2, 60]],
  left_hip: [[0, -80]],
  spine1: [[0, -10]],
};
/** The left thigh lifted above level, the shin hanging (a knee raise, a march). */
const KNEE_UP_LEFT: AngleSpec = { ...ARMS_DOWN, left_hip: [[0, -105]], left_knee: [[0, 105]] };

/**
 * Joint angles (degrees, about the parent-frame axes of the T-pose rest skeleton: knee flexion about X,
 * shoulder abduction about Z). Signs: X −90 on a hip swings the thigh forward; X +90 on a knee folds the
 * shin back; Z −80 / +80 lowers the left / right arm to the side.
 */
const ANGLE_POSES: Record<NamedPose, AngleSpec> = {
  't-pose': {},
  'a-pose': { left_shoulder: [[2, -45]], right_shoulder: [[2, 45]] },
  standing: { ...ARMS_DOWN },
  'hands-up': { left_shoulder: [[2, 80]], right_shoulder: [[2, -80]] },
  crouching: {
    ...ARMS_DOWN,
    spine1: [[0, 30]],
    left_hip: [[0, -110]],
    right_hip: [[0, -110]],
    left_knee: [[0, 125]],
    right_knee: [[0, 125]],
    left_ankle: [[0, -15]],
    right_ankle: [[0, -15]],
  },
  sitting: {
    ...ARMS_DOWN,
    left_hip: [[0, -90]],
    right_hip: [[0, -90]],
    left_knee: [[0, 90]],
    right_knee: [[0, 90]],
  },
  kneeling: {
    ...ARMS_DOWN,
    left_knee: [[0, 90]],
    right_knee: [[0, 90]],
    left_ankle: [[0, 68]],
    right_ankle: [[0, 68]],
  },
  lying: { ...ARMS_DOWN, pelvis: [[0, -90]] },
  'on-all-fours': {
    pelvis: [[0, 90]],
    left_hip: [[0, -90]],
    right_hip: [[0, -90]],
    left_knee: [[0, 90]],
    right_knee: [[0, 90]],
    left_shoulder: [
      [2, -80],
      [1, -90],
    ],
    right_shoulder: [
      [2, 80],
      [1, 90],
    ],
  },
  'kneeling-up': {
    ...ARMS_DOWN,
    left_knee: [[0, 90]],
    right_knee: [[0, 90]],
  },
  'sitting-floor': {
    ...ARMS_DOWN,
    left_hip: [[0, -90]],
    right_hip: [[0, -90]],
  },
  'sitting-chair': {
    ...ARMS_DOWN,
    left_hip: [[0, -90]],
    right_hip: [[0, -90]],
    left_knee: [[0, 90]],
    right_knee: [[0, 90]],
  },
  'lying-back': { ...ARMS_DOWN, pelvis: [[0, -90]] },
  'lying-front': { ...ARMS_DOWN, pelvis: [[0, 90]] },
  squatting: {
    ...ARMS_DOWN,
    left_hip: [[0, -120]],
    right_hip: [[0, -120]],
    left_knee: [[0, 140]],
    right_knee: [[0, 140]],
    left_ankle: [[0, -20]],
    right_ankle: [[0, -20]],
  },
  'arms-raised': { left_shoulder: [[2, 80]], right_shoulder: [[2, -80]] },
  // bent at the hips and knees, arms hanging: the data's pick-up frame replaces it wherever the motion pack is present
  'reaching-down': {
    ...ARMS_DOWN,
    ...mirrorPair({ left_hip: [[0, -60]], left_knee: [[0, 70]] }),
    spine1: [[0, 50]],
    spine2: [[0, 20]],
  },
  ...sided('kick', KICK_LEFT),
  ...sided('knee-up', KNEE_UP_LEFT),
  ...sided('punch', PUNCH_LEFT),
  'arms-forward': { ...FORWARD.left, ...FORWARD.right },
  'hands-together': {
    ...mirrorPair({
      left_shoulder: [
        [0, 25],
        [1, -107],
      ],
    }),
  },
  trunk: {
    ...mirrorPair({
      left_shoulder: [
        [0, 45],
        [1, -103],
      ],
    }),
    spine1: [[0, 20]],
  },
  guard: { ...GUARD.left, ...GUARD.right },
};

/** Local rotations of one frame from an angle spec (identity elsewhere). */
function rotationsFromAngles(spec: AngleSpec): Float32Array {
  const rot = new Float32Array(NUM_JOINTS * 4);
  for (let j = 0; j < NUM_JOINTS; j++) rot[j * 4] = 1;
  for (const [name, steps] of Object.entries(spec) as [keyof typeof JOINT, [0 | 1 | 2, number][]][]) {
    let q: Quat = [1, 0, 0, 0];
    for (const [axis, deg] of steps) q = quatMultiply(q, quatAboutAxis(axis, deg));
    rot.set(q, JOINT[name] * 4);
  }
  return rot;
}

export function namedPoseFromAngles(name: NamedPose): Pose {
  return {
    joints: poseFromRotations(rotationsFromAngles(ANGLE_POSES[name]), `named pose "${name}"`),
    label: `named:${name} (joint angles)`,
  };
}

// ---------------------------------------------------------------- named poses from the data

/** Which pack a pose comes from: the training pack (rotations) or CMU (positions only, free use). Never HDM05 (CC BY-SA). */
type PosePack = 'motion' | 'cmu';

interface DataPoseSource {
  pack: PosePack;
  /** Clips to search, in order of preference (ties keep the earlier clip). */
  clips: (ds: Dataset) => string[];
  /** How well frame t of a clip (T×22×3 positions) shows the pose; -Infinity where it does not at all. */
  score: (p: Float32Array, t: number) => number;
  /**
   * The one posture no pack shows, lying on the back, is the data's relaxed standing frame tipped backwards
   * by 90° about the hips' axis: a body flat on its back keeps a standing body's limb angles.
   */
  tipOntoBack?: boolean;
  /**
   * The playground's kneeling, floor- and bar-sitting frames hold on to the bars; these poses take the body of
   * that frame and the arms (collars to wrists) of the data's relaxed standing frame.
   */
  armsDown?: boolean;
}

const J3 = NUM_JOINTS * 3;
const jy = (p: Float32Array, t: number, j: number): number => p[t * J3 + j * 3 + 1];

/** Height of a joint above the frame's lowest joint (the floor the body rests on, a bar it sits on aside). */
function heightAboveLowest(p: Float32Array, t: number, j: number): number {
  let low = Infinity;
  for (let k = 0; k < NUM_JOINTS; k++) low = Math.min(low, jy(p, t, k));
  return jy(p, t, j) - low;
}

function unitBetween(p: Float32Array, t: number, from: number, to: number): [number, number, number] {
  const a = t * J3 + from * 3;
  const b = t * J3 + to * 3;
  const v: [number, number, number] = [p[b] - p[a], p[b + 1] - p[a + 1], p[b + 2] - p[a + 2]];
  const n = Math.hypot(...v) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** Vertical part of the pelvis → neck direction: 1 upright, 0 horizontal. */
const spineUp = (p: Float32Array, t: number): number => unitBetween(p, t, JOINT.pelvis, JOINT.neck)[1];

/** Vertical part of the chest's facing direction: 1 lying on the back, −1 lying on the front. */
function chestUp(p: Float32Array, t: number): number {
  const across = unitBetween(p, t, JOINT.right_shoulder, JOINT.left_shoulder);
  const up = unitBetween(p, t, JOINT.pelvis, JOINT.neck);
  const fwd = [
    across[1] * up[2] - across[2] * up[1],
    across[2] * up[0] - across[0] * up[2],
    across[0] * up[1] - across[1] * up[0],
  ];
  return fwd[1] / (Math.hypot(fwd[0], fwd[1], fwd[2]) || 1);
}

/** Mean vertical part of both thighs (hip → knee) or shins (knee → ankle): 0 horizontal, −1 hanging straight down. */
const limbDown = (p: Float32Array, t: number, top: 'hip' | 'knee'): number => {
  const [a, b] = top === 'hip' ? (['left_hip', 'left_knee'] as const) : (['left_knee', 'left_ankle'] as const);
  const [c, d] = top === 'hip' ? (['right_hip', 'right_knee'] as const) : (['right_knee', 'right_ankle'] as const);
  return (unitBetween(p, t, JOINT[a], JOINT[b])[1] + unitBetween(p, t, JOINT[c], JOINT[d])[1]) / 2;
};

/** Both wrists below the neck: the playground frames often hold a bar overhead, which no chat request means. */
const handsLow = (p: Float32Array, t: number): boolean =>
  Math.max(jy(p, t, JOINT.left_wrist), jy(p, t, JOINT.right_wrist)) < jy(p, t, JOINT.neck) - 0.1;

const onlyFrame = (frame: number) => (_p: Float32Array, t: number) => (t === frame ? 0 : -Infinity);
const when = (ok: boolean, score: number): number => (ok ? score : -Infinity);
const h = heightAboveLowest;

const ACCAD_FLOOR_CLIPS = [
  'accad_male1_a10_lie-to-crouch',
  'accad_male1_a11_crawl-forward',
  'accad_male1_a12_crawl-backward',
  'accad_male1_a8_crouch-to-lie',
];
/**
 * Training clips only: a pose pinned from a test clip would hand the evaluation that clip's answer
 * (accad_male1_a7_crouch, a9_lie-down and b25_crouch-to-walk are test clips of the floor-level measure).
 */
const ACCAD_CROUCH_CLIPS = [
  'accad_male1_a8_crouch-to-lie',
  'accad_male1_a10_lie-to-crouch',
  'accad_male1_b24_walk-to-crouch',
  'accad_male1_c26_run-to-crouch',
];
const ACCAD_LYING_CLIPS = ['accad_male1_a8_crouch-to-lie', 'accad_male1_a10_lie-to-crouch'];
/** CMU subject 01's playground trials: climbing, sitting on a bar with the legs hanging, kneeling and sitting on the ground. */
const cmuPlaygroundClips = (ds: Dataset) => ds.records.filter((r) => r.id.startsWith('cmu_01_')).map((r) => r.id);
const raiseBothHandsClips = (ds: Dataset) =>
  ds.records
    .filter((r) => r.split === 'train' && r.action_labels[0] === 'raise-up-both-hands' && r.style === 'normal')
    .map((r) => r.id);

/** Named poses the mocap shows (the others — sitting, kneeling, T, A — exist only as angles). */
const DATA_POSES: Partial<Record<NamedPose, DataPoseSource>> = {
  standing: { pack: 'motion', clips: () => ['accad_male1_a1_stand'], score: onlyFrame(0) },
  'hands-up': {
    pack: 'motion',
    clips: (ds) => raiseBothHandsClips(ds).slice(0, 1),
    score: (p, t) => jy(p, t, JOINT.left_wrist) + jy(p, t, JOINT.right_wrist),
  },
  // the end of a walk or a run into a crouch: feet on the floor, pelvis as low as it goes, head up
  crouching: {
    pack: 'motion',
    clips: () => ['accad_male1_b24_walk-to-crouch', 'accad_male1_c26_run-to-crouch'],
    score: (p, t) => when(spineUp(p, t) > 0.3, -jy(p, t, JOINT.pelvis)),
  },
  // flat on the floor at the end of a crouch-to-lie or the start of a lie-to-crouch: pelvis and head both down
  lying: {
    pack: 'motion',
    clips: () => ACCAD_LYING_CLIPS,
    score: (p, t) => -(h(p, t, JOINT.pelvis) + h(p, t, JOINT.head) + jy(p, t, JOINT.pelvis)),
  },
  // hands and knees on the floor, back level, hips as high as the thighs allow (arms straight, not on the forearms)
  'on-all-fours': {
    pack: 'motion',
    clips: () => ACCAD_FLOOR_CLIPS,
    score: (p, t) =>
      when(
        Math.max(h(p, t, JOINT.left_knee), h(p, t, JOINT.right_knee)) < 0.08 &&
          Math.max(h(p, t, JOINT.left_wrist), h(p, t, JOINT.right_wrist)) < 0.06 &&
          Math.abs(spineUp(p, t)) < 0.35,
        h(p, t, JOINT.pelvis) + h(p, t, JOINT.head),
      ),
  },
  // knees on the ground, thighs and back upright
  'kneeling-up': {
    pack: 'cmu',
    clips: cmuPlaygroundClips,
    score: (p, t) =>
      when(
        Math.max(h(p, t, JOINT.left_knee), h(p, t, JOINT.right_knee)) < 0.1 &&
          spineUp(p, t) > 0.9 &&
          limbDown(p, t, 'hip') < -0.8,
        h(p, t, JOINT.head),
      ),
    armsDown: true,
  },
  // pelvis on the ground, back upright
  'sitting-floor': {
    pack: 'cmu',
    clips: cmuPlaygroundClips,
    score: (p, t) => when(h(p, t, JOINT.pelvis) < 0.2 && spineUp(p, t) > 0.85, spineUp(p, t) - h(p, t, JOINT.pelvis)),
    armsDown: true,
  },
  // sitting on a bar with the legs hanging: thighs level, shins vertical, pelvis at a chair's seat height above the feet
  'sitting-chair': {
    pack: 'cmu',
    clips: cmuPlaygroundClips,
    score: (p, t) => {
      const seat = h(p, t, JOINT.pelvis);
      const thigh = limbDown(p, t, 'hip');
      const shin = limbDown(p, t, 'knee');
      return when(
        seat > 0.35 && seat < 0.65 && Math.abs(thigh) < 0.3 && shin < -0.85 && spineUp(p, t) > 0.9 && handsLow(p, t),
        -Math.abs(thigh) - (1 + shin) - Math.abs(seat - 0.5),
      );
    },
    armsDown: true,
  },
  'lying-back': { pack: 'motion', clips: () => ['accad_male1_a1_stand'], score: onlyFrame(0), tipOntoBack: true },
  'lying-front': {
    pack: 'motion',
    clips: () => ACCAD_LYING_CLIPS,
    score: (p, t) => when(chestUp(p, t) < -0.8, -(h(p, t, JOINT.head) + jy(p, t, JOINT.pelvis))),
  },
  // a deep squat on flat feet with the back upright (the crouch pose leans forward)
  squatting: {
    pack: 'motion',
    clips: () => ACCAD_CROUCH_CLIPS,
    score: (p, t) =>
      when(
        spineUp(p, t) > 0.8 && Math.max(h(p, t, JOINT.left_ankle), h(p, t, JOINT.right_ankle)) < 0.15,
        -h(p, t, JOINT.pelvis),
      ),
  },
  // bent down with a hand at the floor, feet flat and knees off it: the lowest reach of the pick-ups and crouches
  'reaching-down': {
    pack: 'motion',
    clips: () => ['accad_male1_a5_pick-up-box', 'accad_male1_b19_walk-to-pick-up-box', ...ACCAD_CROUCH_CLIPS],
    score: (p, t) =>
      when(
        Math.max(h(p, t, JOINT.left_ankle), h(p, t, JOINT.right_ankle)) < 0.15 &&
          Math.min(h(p, t, JOINT.left_knee), h(p, t, JOINT.right_knee)) > 0.2 &&
          spineUp(p, t) > 0.3,
        -Math.min(h(p, t, JOINT.left_wrist), h(p, t, JOINT.right_wrist)),
      ),
  },
  // both wrists as far above the head as anyone in the data reached, body upright
  'arms-raised': {
    pack: 'motion',
    clips: (ds) => raiseBothHandsClips(ds).slice(0, 12),
    score: (p, t) =>
      when(
        spineUp(p, t) > 0.95,
        Math.min(jy(p, t, JOINT.left_wrist), jy(p, t, JOINT.right_wrist)) - jy(p, t, JOINT.head),
      ),
  },
};

/** The best-scoring frame of the source's clips, or undefined when no frame qualifies. */
function bestFrame(src: DataPoseSource, ds: Dataset): { id: string; frame: number } | undefined {
  let best: { id: string; frame: number; score: number } | undefined;
  const known = new Set(ds.records.map((r) => r.id));
  for (const id of src.clips(ds)) {
    if (!known.has(id)) continue;
    const record = ds.byId(id);
    const p = ds.positions(record);
    for (let t = 0; t < record.num_frames; t++) {
      const score = src.score(p, t);
      if (score > -Infinity && (!best || score > best.score)) best = { id, frame: t, score };
    }
  }
  return best;
}

/** Local rotations of one data frame on the model's body: read where the pack has them, solved from positions where not. */
function frameRotations(ds: Dataset, id: string, frame: number): Float32Array {
  const record = ds.byId(id);
  if (ds.hasRotations(record))
    return ds.rotations(record).subarray(frame * NUM_JOINTS * 4, (frame + 1) * NUM_JOINTS * 4);
  const joints = ds.positions(record).subarray(frame * J3, (frame + 1) * J3);
  return rotationsFromJoints(joints, 1, MODEL_REST_OFFSETS);
}

function tipOntoBack(rotations: Float32Array): Float32Array {
  const out = Float32Array.from(rotations);
  out.set(quatMultiply(quatAboutAxis(0, -90), [rotations[0], rotations[1], rotations[2], rotations[3]]), 0);
  return out;
}

const ARM_JOINTS = [
  JOINT.left_collar,
  JOINT.right_collar,
  JOINT.left_shoulder,
  JOINT.right_shoulder,
  JOINT.left_elbow,
  JOINT.right_elbow,
  JOINT.left_wrist,
  JOINT.right_wrist,
];

function withArmsOf(rotations: Float32Array, arms: Float32Array): Float32Array {
  const out = Float32Array.from(rotations);
  for (const j of ARM_JOINTS) out.set(arms.subarray(j * 4, j * 4 + 4), j * 4);
  return out;
}

/** The relaxed standing frame's local rotations, the arms donor of `armsDown` poses (undefined without the motion pack). */
let standingRotations: Float32Array | undefined;

function namedPoseFromData(name: NamedPose, ds: Dataset): Pose | undefined {
  const src = DATA_POSES[name];
  const found = src && bestFrame(src, ds);
  if (!src || !found) return undefined;
  let rotations = frameRotations(ds, found.id, found.frame);
  if (name === 'standing') standingRotations = Float32Array.from(rotations);
  const how: string[] = [];
  if (src.armsDown && standingRotations) {
    rotations = withArmsOf(rotations, standingRotations);
    how.push('arms of accad_male1_a1_stand#0');
  }
  if (src.tipOntoBack) {
    rotations = tipOntoBack(rotations);
    how.push('tipped onto its back');
  }
  const joints = poseFromRotations(rotations, `named pose "${name}"`);
  return { joints, label: `named:${name} (data: ${[`${found.id}#${found.frame}`, ...how].join(', ')})` };
}

const namedPoseCache = new Map<string, Pose>();

export interface NamedPoseOptions {
  /** Motion data folder to take poses from; null = joint angles only. Default: the shared data when present. */
  dataDir?: string | null;
}

/** The CMU pack sits beside the motion pack in the shared data folder. */
const packDir = (dataDir: string, pack: PosePack): string => (pack === 'motion' ? dataDir : join(dataDir, '..', 'cmu'));

/**
 * All data-derived poses of a data folder at once: each pack is opened once and then let go (its ~90 MB
 * should not stay resident in a bot for the sake of a dozen poses).
 */
function cacheDataPoses(dir: string | null): void {
  if (dir === null) return;
  for (const pack of ['motion', 'cmu'] as const) {
    const from = packDir(dir, pack);
    if (!existsSync(join(from, 'index.jsonl'))) continue;
    // A named pose needs a few frames of a few clips: reading those alone keeps ~90 MB of binaries out of the bot.
    const ds = openDataset(from, { clipReads: true });
    for (const [name, src] of Object.entries(DATA_POSES) as [NamedPose, DataPoseSource][]) {
      if (src.pack !== pack) continue;
      const pose = namedPoseFromData(name, ds);
      if (pose) namedPoseCache.set(`${dir}|${name}`, pose);
    }
  }
  dataPosesCached.add(dir);
}

const dataPosesCached = new Set<string>();

/** A named pose: from the mocap where it has one, else by joint angles on the rest skeleton. */
export function namedPose(name: string, opts: NamedPoseOptions = {}): Pose {
  if (!(NAMED_POSES as readonly string[]).includes(name)) {
    throw new Error(`unknown pose name "${name}"; named poses are: ${NAMED_POSES.join(', ')}`);
  }
  const pose = name as NamedPose;
  const dir = opts.dataDir === undefined ? defaultDataDir() : opts.dataDir;
  const key = `${dir ?? '-'}|${pose}`;
  if (!namedPoseCache.has(key) && DATA_POSES[pose] && dir !== null && !dataPosesCached.has(dir)) cacheDataPoses(dir);
  let out = namedPoseCache.get(key);
  if (!out) {
    out = namedPoseFromAngles(pose);
    namedPoseCache.set(key, out);
  }
  return { joints: Float32Array.from(out.joints), label: out.label };
}

// ---------------------------------------------------------------- poses from motions and files

/** Frame `frame` of a motion (negative counts from the end: −1 = last), conformed to the model's body. */
export function poseFromMotionFrame(motion: Motion, frame: number, what = 'motion'): Pose {
  if (!Number.isInteger(frame)) throw new Error(`${what}: frame must be a whole number, got ${frame}`);
  const t = frame < 0 ? motion.numFrames + frame : frame;
  if (t < 0 || t >= motion.numFrames) {
    throw new Error(
      `${what}: frame ${frame} is outside the motion (it has ${motion.numFrames} frames; use 0…${motion.numFrames - 1} or −1 for the last)`,
    );
  }
  const joints = motion.joints.subarray(t * POSE_VALUES, (t + 1) * POSE_VALUES);
  return {
    joints: conformPoseToModelBody(joints, `${what} frame ${frame}`, 'scale'),
    label: `frame:${frame} of ${what}`,
  };
}

/** A pose from an uploaded BVH / JSON / NPY file (its first frame unless told otherwise). */
export function poseFromFile(path: string, frame = 0): Pose {
  const motion = loadMotionFile(path);
  return { ...poseFromMotionFrame(motion, frame, path), label: `file:${path}#${frame}` };
}

/** Finds the motion a `frame` pose reference points to (the bot resolves ids from its store; the CLI reads paths). */
export type MotionResolver = (ref: { id: string } | { path: string }) => Motion | Promise<Motion>;

export const fileMotionResolver: MotionResolver = (ref) => {
  if ('path' in ref) return loadMotionFile(ref.path);
  throw new Error(`motion "${ref.id}" cannot be found: only file paths can be resolved here (no motion store)`);
};

export async function resolvePoseRef(
  ref: PoseRef,
  resolver: MotionResolver = fileMotionResolver,
  opts: NamedPoseOptions = {},
): Promise<Pose> {
  switch (ref.kind) {
    case 'named':
      return namedPose(ref.name, opts);
    case 'frame': {
      const what = 'path' in ref.motion ? ref.motion.path : `motion ${ref.motion.id}`;
      return poseFromMotionFrame(await resolver(ref.motion), ref.frame, what);
    }
    case 'joints':
      return {
        joints: conformPoseToModelBody(Float32Array.from(ref.joints), ref.label ?? 'uploaded pose'),
        label: ref.label ?? 'uploaded pose',
      };
  }
}
