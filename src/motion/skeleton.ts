/**
 * The 22-joint skeleton Charades speaks everywhere: SMPL / HumanML3D joint order, metres, Y up,
 * rest pose a T-pose facing +Z with the subject's left on +X (see ../shared/data/motion/README.md).
 */

export const JOINT_NAMES = [
  'pelvis',
  'left_hip',
  'right_hip',
  'spine1',
  'left_knee',
  'right_knee',
  'spine2',
  'left_ankle',
  'right_ankle',
  'spine3',
  'left_foot',
  'right_foot',
  'neck',
  'left_collar',
  'right_collar',
  'head',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
] as const;

export type JointName = (typeof JOINT_NAMES)[number];

export const NUM_JOINTS = 22;
export const FPS = 20;

export const PARENTS: readonly number[] = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19];

/** Kinematic chains as HumanML3D draws them: legs, spine to head, arms (each starts at its root). */
export const KINEMATIC_CHAINS: readonly (readonly number[])[] = [
  [0, 2, 5, 8, 11],
  [0, 1, 4, 7, 10],
  [0, 3, 6, 9, 12, 15],
  [9, 14, 17, 19, 21],
  [9, 13, 16, 18, 20],
];

/** mirror[j] is the joint that j becomes when the body is reflected through the sagittal (x = 0) plane. */
export const MIRROR: readonly number[] = [0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20];

export const JOINT = Object.fromEntries(JOINT_NAMES.map((n, i) => [n, i])) as Record<JointName, number>;

/** Foot joints used by contact and skating metrics (ankles and balls of the feet). */
export const FOOT_JOINTS = { leftAnkle: 7, rightAnkle: 8, leftFoot: 10, rightFoot: 11 } as const;

/** Bandai-Namco rest offsets (metres, parent frame), shared by every bandai-namco clip. */
export const REST_OFFSETS_BANDAI: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [0.06469, -0.02192, 0],
  [-0.06469, -0.02193, 0],
  [0, 0.15736, 0],
  [0, -0.39081, 0],
  [0, -0.39081, 0],
  [0, 0.08994, 0],
  [0, -0.40985, 0],
  [0, -0.40985, 0],
  [0, 0.12994, 0],
  [0, -0.04365, 0.10914],
  [0, -0.04365, 0.10914],
  [0, 0.03383, 0],
  [0.0498, 0, -0.00243],
  [-0.0498, 0, -0.00243],
  [0, 0.06457, 0],
  [0.05348, 0, 0],
  [-0.05348, 0, 0],
  [0.24329, 0, 0],
  [-0.24329, 0, 0],
  [0.22292, 0, 0],
  [-0.22292, 0, 0],
];

/** Index of a joint by name, with a clear error for a typo. */
export function jointIndex(name: string): number {
  const i = (JOINT_NAMES as readonly string[]).indexOf(name);
  if (i < 0) throw new Error(`unknown joint "${name}"; joints are: ${JOINT_NAMES.join(', ')}`);
  return i;
}

/** Length of every bone (joint j to its parent) for rest offsets; entry 0 is 0. */
export function boneLengthsFromOffsets(offsets: readonly (readonly number[])[]): number[] {
  return offsets.map((o) => Math.hypot(o[0] ?? 0, o[1] ?? 0, o[2] ?? 0));
}

/** Length of the bone from joint j to its parent in a flat array of 22×3 positions (frame starting at `offset`). */
export function boneLength(joints: ArrayLike<number>, j: number, offset = 0): number {
  const a = offset + j * 3;
  const b = offset + PARENTS[j] * 3;
  return Math.hypot(joints[a] - joints[b], joints[a + 1] - joints[b + 1], joints[a + 2] - joints[b + 2]);
}
