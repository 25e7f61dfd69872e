/**
 * Retargeting a BVH skeleton onto our 22 joints: each of our joints takes the global position of one
 * source joint, or of a virtual point between two source joints; units become metres and the clip is
 * resampled (rotations by nlerp, then FK, as the dataset converter did). See docs/retargeting.md.
 */
import type { Motion } from './contracts.js';
import { makeMotion } from './contracts.js';
import { bvhGlobalPositions, bvhPoseAtTime, charadesJointOrder, sampleTimes } from './bvh.js';
import type { BvhClip } from './bvh.js';
import type { JointName } from './skeleton.js';
import { FPS, JOINT_NAMES, NUM_JOINTS } from './skeleton.js';

/** A point that is not a source joint: `at` of the way from source joint `from` to `to` (0 = from, 1 = to). */
export interface VirtualJoint {
  from: string;
  to: string;
  at: number;
}

export type JointSource = string | VirtualJoint;

export interface JointMap {
  /** Short name, used by `--map` and in messages. */
  name: string;
  /** Metres per source unit; absent = guessed from the body's size (cm, m or mm). */
  metresPerUnit?: number;
  joints: Readonly<Record<JointName, JointSource>>;
}

/**
 * Bandai-Namco Research Motiondataset (skeleton.json → source_joint_map). spine3 is virtual: the point on
 * Chest→Neck level with the collars' attachment, 12.994 of the 16.377 cm (79.34%) from Chest to Neck,
 * which is where the packed data puts it (its rest offsets spine2→spine3 = 12.994 cm, spine3→neck = 3.383 cm).
 */
export const BANDAI_NAMCO_MAP: JointMap = {
  name: 'bandai-namco',
  metresPerUnit: 0.01,
  joints: {
    pelvis: 'Hips',
    left_hip: 'UpperLeg_L',
    right_hip: 'UpperLeg_R',
    spine1: 'Spine',
    left_knee: 'LowerLeg_L',
    right_knee: 'LowerLeg_R',
    spine2: 'Chest',
    left_ankle: 'Foot_L',
    right_ankle: 'Foot_R',
    spine3: { from: 'Chest', to: 'Neck', at: 12.9942 / 16.3773 },
    left_foot: 'Toes_L',
    right_foot: 'Toes_R',
    neck: 'Neck',
    left_collar: 'Shoulder_L',
    right_collar: 'Shoulder_R',
    head: 'Head',
    left_shoulder: 'UpperArm_L',
    right_shoulder: 'UpperArm_R',
    left_elbow: 'LowerArm_L',
    right_elbow: 'LowerArm_R',
    left_wrist: 'Hand_L',
    right_wrist: 'Hand_R',
  },
};

/** ACCAD Motion Capture Lab, Male1 set (skeleton.json → source_joint_map_by_dataset["accad-male1"]). */
export const ACCAD_MAP: JointMap = {
  name: 'accad',
  metresPerUnit: 0.01,
  joints: {
    pelvis: 'Hips',
    left_hip: 'LeftUpLeg',
    right_hip: 'RightUpLeg',
    spine1: 'ToSpine',
    left_knee: 'LeftLeg',
    right_knee: 'RightLeg',
    spine2: 'Spine',
    left_ankle: 'LeftFoot',
    right_ankle: 'RightFoot',
    spine3: 'Spine1',
    left_foot: 'LeftToeBase',
    right_foot: 'RightToeBase',
    neck: 'Neck',
    left_collar: 'LeftShoulder',
    right_collar: 'RightShoulder',
    head: 'Head',
    left_shoulder: 'LeftArm',
    right_shoulder: 'RightArm',
    left_elbow: 'LeftForeArm',
    right_elbow: 'RightForeArm',
    left_wrist: 'LeftHand',
    right_wrist: 'RightHand',
  },
};

/** Our own skeleton (files writeBvh produced): every joint maps to itself, units guessed (cm or m). */
export const CHARADES_MAP: JointMap = {
  name: 'charades',
  joints: Object.fromEntries(JOINT_NAMES.map((n) => [n, n])) as Record<JointName, JointSource>,
};

/** The maps auto-detection tries, in order. */
export const JOINT_MAPS: readonly JointMap[] = [CHARADES_MAP, BANDAI_NAMCO_MAP, ACCAD_MAP];

function sourceNames(source: JointSource): string[] {
  return typeof source === 'string' ? [source] : [source.from, source.to];
}

/** Source joint names a map needs that the clip lacks (empty when the map fits). */
export function missingSourceJoints(clip: BvhClip, map: JointMap): string[] {
  const have = new Set(clip.joints.map((j) => j.name));
  const needed = new Set(Object.values(map.joints).flatMap(sourceNames));
  return [...needed].filter((n) => !have.has(n));
}

/** The first known map whose source joints all exist in the clip; a clear error when none fits. */
export function detectJointMap(clip: BvhClip, maps: readonly JointMap[] = JOINT_MAPS): JointMap {
  const fit = maps.find((m) => missingSourceJoints(clip, m).length === 0);
  if (fit) return fit;
  const names = clip.joints.map((j) => j.name);
  const shown = names.slice(0, 25).join(', ') + (names.length > 25 ? ', …' : '');
  throw new Error(
    `${clip.file}: no known joint map fits this skeleton (joints: ${shown}); known maps: ${maps.map((m) => m.name).join(', ')}. ` +
      'See docs/retargeting.md to add one.',
  );
}

export function jointMapByName(name: string): JointMap {
  const map = JOINT_MAPS.find((m) => m.name === name);
  if (!map) throw new Error(`unknown joint map "${name}"; known maps: ${JOINT_MAPS.map((m) => m.name).join(', ')}`);
  return map;
}

/**
 * Metres per unit from the body's size in its first frame (largest distance between two joints, about
 * 1.2–2.2 m for a person): centimetres, metres or millimetres. Other units need the map's metresPerUnit.
 */
export function guessMetresPerUnit(clip: BvhClip): number {
  if (clip.numFrames === 0) throw new Error(`${clip.file}: the clip has no frames, so its units cannot be guessed`);
  const { positions } = bvhGlobalPositions({
    ...clip,
    numFrames: 1,
    values: clip.values.subarray(0, clip.channelsPerFrame),
  });
  const J = clip.joints.length;
  let span = 0;
  for (let a = 0; a < J; a++) {
    for (let b = a + 1; b < J; b++) {
      span = Math.max(
        span,
        Math.hypot(
          positions[a * 3] - positions[b * 3],
          positions[a * 3 + 1] - positions[b * 3 + 1],
          positions[a * 3 + 2] - positions[b * 3 + 2],
        ),
      );
    }
  }
  for (const unit of [1, 0.01, 0.001]) {
    if (span * unit >= 0.5 && span * unit <= 3) return unit;
  }
  throw new Error(
    `${clip.file}: cannot tell the units: the body spans ${span.toPrecision(3)} units in frame 0, which is not a person in metres, ` +
      'centimetres or millimetres; give the joint map a metresPerUnit',
  );
}

export interface RetargetOptions {
  /** Joint map (default: detected from the joint names). */
  map?: JointMap;
  /** Output frame rate (default 20, our standard). */
  fps?: number;
  /** Metres per source unit (overrides the map's and the guess). */
  metresPerUnit?: number;
}

/**
 * Our 22-joint Motion from a BVH clip. A clip on our own skeleton keeps its local rotations and rest
 * offsets as well (so BVH → Motion → BVH is lossless); other skeletons give positions only.
 */
export function retargetBvh(clip: BvhClip, opts: RetargetOptions = {}): Motion {
  const map = opts.map ?? detectJointMap(clip);
  const missing = missingSourceJoints(clip, map);
  if (missing.length)
    throw new Error(`${clip.file}: joint map "${map.name}" needs joints the file lacks: ${missing.join(', ')}`);
  const fps = opts.fps ?? FPS;
  if (!(fps > 0) || !Number.isFinite(fps))
    throw new Error(`${clip.file}: the frame rate must be a positive number, got ${fps}`);
  const unit = opts.metresPerUnit ?? map.metresPerUnit ?? guessMetresPerUnit(clip);
  const src = bvhGlobalPositions(clip, fps);
  const J = clip.joints.length;
  const index = new Map(clip.joints.map((j, i) => [j.name, i]));
  const joints = new Float32Array(src.numFrames * NUM_JOINTS * 3);
  JOINT_NAMES.forEach((name, j) => {
    const source = map.joints[name];
    const from = index.get(typeof source === 'string' ? source : source.from)!;
    const to = typeof source === 'string' ? from : index.get(source.to)!;
    const at = typeof source === 'string' ? 0 : source.at;
    for (let t = 0; t < src.numFrames; t++) {
      for (let k = 0; k < 3; k++) {
        const a = src.positions[(t * J + from) * 3 + k];
        const b = src.positions[(t * J + to) * 3 + k];
        joints[(t * NUM_JOINTS + j) * 3 + k] = (a + (b - a) * at) * unit;
      }
    }
  });
  // Rotations carry over only when the rest offsets alone place the joints (no translation channels below the root).
  const own =
    map === CHARADES_MAP && clip.joints.every((j) => j.parent < 0 || j.channels.every((c) => c.endsWith('rotation')))
      ? charadesJointOrder(clip)
      : null;
  return makeMotion({
    fps,
    numFrames: src.numFrames,
    joints,
    ...(own ? ownSkeletonRotations(clip, own, fps, unit) : {}),
    provenance: { source: `file:${clip.file}` },
  });
}

/** Local rotations (resampled like the positions) and rest offsets in metres of a clip on our skeleton. */
function ownSkeletonRotations(
  clip: BvhClip,
  order: number[],
  fps: number,
  unit: number,
): Pick<Motion, 'rotations' | 'restOffsets'> {
  const times = sampleTimes(clip, fps);
  const rotations = new Float32Array(times.length * NUM_JOINTS * 4);
  times.forEach((f, t) => {
    const pose = bvhPoseAtTime(clip, f);
    order.forEach((ci, j) => rotations.set(pose.rotations[ci], (t * NUM_JOINTS + j) * 4));
  });
  const restOffsets = order.map((ci, j) =>
    j === 0
      ? ([0, 0, 0] as [number, number, number])
      : (clip.joints[ci].offset.map((v) => v * unit) as [number, number, number]),
  );
  return { rotations, restOffsets };
}
