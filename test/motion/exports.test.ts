import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bone, SkinnedMesh } from 'three';
import { AnimationMixer, Object3D, Vector3 } from 'three';
import { BVHLoader } from 'three/examples/jsm/loaders/BVHLoader.js';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { bvhExportPositions } from '../../src/motion/bvh.js';
import { makeMotion, type Motion } from '../../src/motion/contracts.js';
import { openDataset } from '../../src/motion/dataset.js';
import { featurize } from '../../src/motion/features.js';
import { loadMotionFile, parseMotionJson } from '../../src/motion/formats.js';
import { JOINT_NAMES, NUM_JOINTS } from '../../src/motion/skeleton.js';
import { exportMotion, parseExportFormat, writeMotionExport } from '../../src/motion/engine/exports.js';
import { finishMotion } from '../../src/motion/engine/postprocess.js';

const ds = openDataset();
const clip = ds.records.find((r) => r.action_labels[0] === 'wave-both-hands' && r.split === 'test');
if (!clip) throw new Error('no wave-both-hands test clip in the shared data');
// What the engine hands out: features through the production post-processing (rotations solved from joints).
const T = clip.num_frames;
const motion: Motion = finishMotion(featurize(ds.positions(clip), T), T - 1, {
  segments: [{ text: 'wave both hands', start: 0, end: T - 1 }],
  provenance: { source: `dataset:${clip.id}` },
});
const expected = bvhExportPositions(motion);
const dir = mkdtempSync(join(tmpdir(), 'charades-exports-'));

/** World positions of bones named like our joints, after posing `root` at time `seconds`. */
function bonePositions(root: Object3D, seconds: number, mixer: AnimationMixer, scale = 1): Float32Array {
  mixer.setTime(seconds);
  root.updateMatrixWorld(true);
  const out = new Float32Array(NUM_JOINTS * 3);
  const v = new Vector3();
  JOINT_NAMES.forEach((name, j) => {
    const bone = root.getObjectByName(name);
    assert.ok(bone, `bone ${name} present`);
    bone.getWorldPosition(v);
    out.set([v.x * scale, v.y * scale, v.z * scale], j * 3);
  });
  return out;
}

function maxDiffAtFrame(actual: Float32Array, t: number): number {
  let worst = 0;
  for (let i = 0; i < NUM_JOINTS * 3; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[t * NUM_JOINTS * 3 + i]));
  return worst;
}

test('BVH: three.js BVHLoader and our own reader both get the motion back (cm scale, frame rate)', async () => {
  const text = (await exportMotion(motion, 'bvh')).toString('utf8');
  const parsed = new BVHLoader().parse(text);
  assert.equal(parsed.skeleton.bones.length, NUM_JOINTS + 5, '22 joints plus 5 end sites');
  assert.ok(Math.abs(parsed.clip.duration - (motion.numFrames - 1) / 20) < 1e-6);
  const root = new Object3D();
  root.add(parsed.skeleton.bones[0]);
  const mixer = new AnimationMixer(root);
  mixer.clipAction(parsed.clip).play();
  // BVH tools disagree on the root OFFSET (three's BVHLoader adds it to the root channels, Blender does not),
  // so writeBvh writes a zero root OFFSET that both read the same way.
  assert.deepEqual(parsed.skeleton.bones[0].position.toArray(), [0, 0, 0]);
  for (const t of [0, Math.floor(motion.numFrames / 2), motion.numFrames - 1]) {
    const posed = bonePositions(root, t / 20, mixer, 0.01);
    const worst = maxDiffAtFrame(posed, t);
    assert.ok(worst < 1e-3, `frame ${t}: BVHLoader pose differs by ${worst} m`);
  }
  const file = join(dir, 'wave.bvh');
  await writeMotionExport(motion, file);
  const back = loadMotionFile(file);
  assert.equal(back.numFrames, motion.numFrames);
  let worst = 0;
  for (let i = 0; i < back.joints.length; i++) worst = Math.max(worst, Math.abs(back.joints[i] - expected[i]));
  assert.ok(worst < 2e-3, `foundation BVH reader differs by ${worst} m`);
});

test('GLB: three.js GLTFLoader reads a skinned 22-bone rig whose animation reproduces the motion', async () => {
  const bytes = await exportMotion(motion, 'glb');
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'glTF');
  const gltf = await new GLTFLoader().parseAsync(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    '',
  );
  assert.equal(gltf.animations.length, 1);
  assert.equal(gltf.animations[0].name, 'wave both hands');
  assert.ok(Math.abs(gltf.animations[0].duration - (motion.numFrames - 1) / 20) < 1e-4);
  let skinned: SkinnedMesh | undefined;
  gltf.scene.traverse((o) => {
    if ((o as SkinnedMesh).isSkinnedMesh) skinned = o as SkinnedMesh;
  });
  assert.ok(skinned, 'a skinned mesh is present');
  assert.equal(skinned.skeleton.bones.length, NUM_JOINTS);
  assert.ok(skinned.skeleton.bones.every((b: Bone) => b.isBone));
  const mixer = new AnimationMixer(gltf.scene);
  mixer.clipAction(gltf.animations[0]).play();
  for (const t of [0, Math.floor(motion.numFrames / 3), motion.numFrames - 1]) {
    const worst = maxDiffAtFrame(bonePositions(gltf.scene, t / 20, mixer), t);
    assert.ok(worst < 1e-4, `frame ${t}: GLTFLoader pose differs by ${worst} m`);
  }
});

test('NPY: numpy reads (T, 22, 3) float32 equal to the joints', async () => {
  const file = join(dir, 'wave.npy');
  await writeMotionExport(motion, file);
  const out = execFileSync('/usr/bin/python3', [
    '-c',
    'import sys, numpy as np; a = np.load(sys.argv[1]); print(a.dtype, a.shape, float(a[3, 20, 1]))',
    file,
  ])
    .toString()
    .trim();
  const [dtype, ...rest] = out.split(' ');
  assert.equal(dtype, 'float32');
  assert.equal(rest.slice(0, 3).join(' '), `(${motion.numFrames}, 22, 3)`);
  assert.ok(Math.abs(Number(rest[3]) - motion.joints[(3 * NUM_JOINTS + 20) * 3 + 1]) < 1e-6);
});

test('Charades JSON round-trips joints, segments and provenance', async () => {
  const text = (await exportMotion(motion, 'json')).toString('utf8');
  const back = parseMotionJson(text);
  assert.equal(back.numFrames, motion.numFrames);
  assert.deepEqual(back.segments, motion.segments);
  assert.equal(back.provenance.source, `dataset:${clip.id}`);
  for (let i = 0; i < back.joints.length; i += 97) assert.ok(Math.abs(back.joints[i] - motion.joints[i]) < 1e-5);
});

test('exports refuse bad motions, formats and paths with a clear message', async () => {
  const broken = makeMotion({ fps: 20, numFrames: 1, joints: new Float32Array(66).fill(NaN) });
  await assert.rejects(exportMotion(broken, 'glb'), /cannot export a motion whose joint positions contain NaN/);
  assert.throws(
    () => parseExportFormat('fbx', '--format'),
    /--format: unknown export format "fbx"; use one of bvh, glb, npy, json/,
  );
  assert.equal(parseExportFormat('GLB'), 'glb');
  await assert.rejects(writeMotionExport(motion, join(dir, 'wave.mp3')), /wave\.mp3: cannot tell the export format/);
  const empty = makeMotion({ fps: 20, numFrames: 0, joints: new Float32Array(0) });
  await assert.rejects(exportMotion(empty, 'glb'), /GLB export: the motion has no frames/);
  assert.ok(readFileSync(join(dir, 'wave.npy')).length > 0);
});
