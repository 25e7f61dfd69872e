/**
 * GLB export of a motion with three's GLTFExporter, headless in Node: a 22-bone skeleton (rest offsets as
 * bone positions), a small skinned stick-figure mesh so viewers show the body, and one animation (root
 * translation + every joint's local rotation at the motion's frame rate).
 */
import {
  AnimationClip,
  Bone,
  BufferGeometry,
  Float32BufferAttribute,
  Group,
  Matrix4,
  MeshBasicMaterial,
  Quaternion,
  QuaternionKeyframeTrack,
  Skeleton,
  SkinnedMesh,
  Uint16BufferAttribute,
  Vector3,
  VectorKeyframeTrack,
} from 'three';
import { GLTFExporter } from 'three/examples/jsm/exporters/GLTFExporter.js';
import { bvhExportPose } from '../bvh.js';
import type { Motion } from '../contracts.js';
import { JOINT_NAMES, NUM_JOINTS, PARENTS } from '../skeleton.js';

/**
 * GLTFExporter assembles the binary through FileReader, which Node lacks; Blob has `arrayBuffer()`, which is
 * all a reader needs here. Installed once, only where no FileReader exists.
 */
function ensureFileReader(): void {
  const g = globalThis as { FileReader?: unknown };
  if (g.FileReader) return;
  class NodeFileReader {
    result: ArrayBuffer | string | null = null;
    onloadend: (() => void) | null = null;
    readAsArrayBuffer(blob: Blob): void {
      void blob.arrayBuffer().then((buf) => {
        this.result = buf;
        this.onloadend?.();
      });
    }
    readAsDataURL(blob: Blob): void {
      void blob.arrayBuffer().then((buf) => {
        this.result = `data:${blob.type || 'application/octet-stream'};base64,${Buffer.from(buf).toString('base64')}`;
        this.onloadend?.();
      });
    }
  }
  g.FileReader = NodeFileReader;
}

const BONE_RADIUS = 0.025;

/** Rest-pose world positions of the joints (root at its first-frame height so the bind pose stands). */
function restWorld(offsets: readonly (readonly number[])[], rootHeight: number): Vector3[] {
  const out: Vector3[] = [];
  for (let j = 0; j < NUM_JOINTS; j++) {
    const o = new Vector3(offsets[j][0], offsets[j][1], offsets[j][2]);
    out.push(PARENTS[j] < 0 ? new Vector3(0, rootHeight, 0) : o.add(out[PARENTS[j]]));
  }
  return out;
}

/** One thin box per bone (parent → child), weighted fully to the parent joint: a stick figure that follows the skeleton. */
function stickFigure(rest: Vector3[]): BufferGeometry {
  const positions: number[] = [];
  const skinIndex: number[] = [];
  const skinWeight: number[] = [];
  const index: number[] = [];
  const boxFaces = [
    0, 1, 2, 0, 2, 3, 4, 6, 5, 4, 7, 6, 0, 4, 5, 0, 5, 1, 1, 5, 6, 1, 6, 2, 2, 6, 7, 2, 7, 3, 3, 7, 4, 3, 4, 0,
  ];
  for (let j = 1; j < NUM_JOINTS; j++) {
    const p = PARENTS[j];
    const a = rest[p];
    const b = rest[j];
    const axis = new Vector3().subVectors(b, a);
    if (axis.length() < 1e-6) continue;
    axis.normalize();
    const side = new Vector3(0, 1, 0).cross(axis);
    if (side.length() < 1e-3) side.set(1, 0, 0).cross(axis);
    side.normalize().multiplyScalar(BONE_RADIUS);
    const up = new Vector3().crossVectors(axis, side).normalize().multiplyScalar(BONE_RADIUS);
    const base = positions.length / 3;
    for (const end of [a, b]) {
      for (const [s, u] of [
        [1, 1],
        [-1, 1],
        [-1, -1],
        [1, -1],
      ]) {
        const v = end.clone().addScaledVector(side, s).addScaledVector(up, u);
        positions.push(v.x, v.y, v.z);
        skinIndex.push(p, 0, 0, 0);
        skinWeight.push(1, 0, 0, 0);
      }
    }
    for (const f of boxFaces) index.push(base + f);
  }
  const geometry = new BufferGeometry();
  geometry.setAttribute('position', new Float32BufferAttribute(positions, 3));
  geometry.setAttribute('skinIndex', new Uint16BufferAttribute(skinIndex, 4));
  geometry.setAttribute('skinWeight', new Float32BufferAttribute(skinWeight, 4));
  geometry.setIndex(index);
  return geometry;
}

/** The scene and clip the GLB holds; exposed for tests and for the renderer, which may want the same rig. */
export function motionRig(motion: Motion): { root: Group; clip: AnimationClip; bones: Bone[] } {
  if (motion.numFrames < 1) throw new Error('GLB export: the motion has no frames');
  const { restOffsets, rotations } = bvhExportPose(motion);
  const bones = JOINT_NAMES.map((name) => {
    const b = new Bone();
    b.name = name;
    return b;
  });
  const rootHeight = motion.joints[1];
  bones.forEach((b, j) => {
    if (PARENTS[j] >= 0) {
      bones[PARENTS[j]].add(b);
      b.position.set(restOffsets[j][0], restOffsets[j][1], restOffsets[j][2]);
    } else b.position.set(0, rootHeight, 0);
  });
  const rest = restWorld(restOffsets, rootHeight);
  const mesh = new SkinnedMesh(stickFigure(rest), new MeshBasicMaterial({ color: 0xd0d0d0 }));
  mesh.name = 'body';
  const root = new Group();
  root.name = 'charades';
  root.add(bones[0], mesh);
  root.updateMatrixWorld(true);
  mesh.bind(
    new Skeleton(
      bones,
      bones.map((b) => new Matrix4().copy(b.matrixWorld).invert()),
    ),
  );

  const T = motion.numFrames;
  const times = Float32Array.from({ length: T }, (_, t) => t / motion.fps);
  const rootPos = new Float32Array(T * 3);
  for (let t = 0; t < T; t++) rootPos.set(motion.joints.subarray(t * NUM_JOINTS * 3, t * NUM_JOINTS * 3 + 3), t * 3);
  const tracks = [new VectorKeyframeTrack(`${JOINT_NAMES[0]}.position`, Array.from(times), Array.from(rootPos))];
  const q = new Quaternion();
  for (let j = 0; j < NUM_JOINTS; j++) {
    const values = new Float32Array(T * 4);
    for (let t = 0; t < T; t++) {
      const o = (t * NUM_JOINTS + j) * 4;
      // Charades stores (w, x, y, z); three and glTF use (x, y, z, w).
      q.set(rotations[o + 1], rotations[o + 2], rotations[o + 3], rotations[o]).normalize();
      values.set([q.x, q.y, q.z, q.w], t * 4);
    }
    tracks.push(new QuaternionKeyframeTrack(`${JOINT_NAMES[j]}.quaternion`, Array.from(times), Array.from(values)));
  }
  const name = motion.segments.map((s) => s.text).join(', then ') || 'motion';
  return { root, clip: new AnimationClip(name, (T - 1) / motion.fps, tracks), bones };
}

/** The motion as a binary glTF (GLB) file. */
export async function motionToGlb(motion: Motion): Promise<Buffer> {
  ensureFileReader();
  const { root, clip } = motionRig(motion);
  const result = await new GLTFExporter().parseAsync(root, { binary: true, animations: [clip], onlyVisible: false });
  if (!(result instanceof ArrayBuffer))
    throw new Error('GLB export: GLTFExporter returned JSON instead of a binary buffer');
  return Buffer.from(result);
}
