import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatFromExtension,
  loadMotionFile,
  motionToJson,
  parseMotionJson,
  saveMotionFile,
  sniffFormat,
} from '../../src/motion/formats.js';
import { serializeNpy } from '../../src/motion/npy.js';
import { openDataset } from '../../src/motion/dataset.js';
import { defaultDataDir } from '../../src/motion/paths.js';
import { positionError } from '../../src/motion/kinematics.js';
import { makeMotion } from '../../src/motion/contracts.js';

const SAMPLE = join(defaultDataDir(), 'samples', 'dataset-1_bow_happy_001.bvh');

function withTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'charades-formats-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a dataset clip survives JSON, NPY and BVH files', () => {
  const clip = openDataset().clip('bnr1_bow_happy_001');
  withTmp((dir) => {
    assert.equal(saveMotionFile(clip, join(dir, 'a.json')), 'json');
    const json = loadMotionFile(join(dir, 'a.json'));
    assert.ok(positionError(json.joints, clip.joints).max < 1e-6);
    assert.ok(json.rotations && json.restOffsets);
    assert.deepEqual(json.segments, clip.segments);
    assert.deepEqual(json.provenance, clip.provenance);
    const doc = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
    assert.equal(doc.format, 'charades-motion/1');
    assert.equal(doc.joints.length, clip.numFrames);
    assert.equal(doc.joints[0].length, 22);

    saveMotionFile(clip, join(dir, 'sub', 'a.npy'));
    assert.deepEqual(loadMotionFile(join(dir, 'sub', 'a.npy')).joints, clip.joints);

    saveMotionFile(clip, join(dir, 'a.bvh'), undefined, { scale: 'm', rotationOrder: 'YXZ' });
    const bvh = loadMotionFile(join(dir, 'a.bvh'));
    assert.equal(bvh.numFrames, clip.numFrames);
    assert.ok(positionError(bvh.joints, clip.joints).max < 0.0025);
  });
});

test('a real Bandai-Namco BVH loads retargeted at 20 fps, or at the fps asked for', () => {
  const m = loadMotionFile(SAMPLE);
  assert.equal(m.fps, 20);
  assert.equal(m.numFrames, 92);
  assert.equal(loadMotionFile(SAMPLE, { fps: 30 }).numFrames, 138);
  withTmp((dir) => {
    saveMotionFile(m, join(dir, 'm.json'));
    const at10 = loadMotionFile(join(dir, 'm.json'), { fps: 10 });
    assert.equal(at10.fps, 10);
    assert.equal(at10.numFrames, 46);
  });
});

test('content decides the format when the extension is wrong; the extension decides otherwise', () => {
  withTmp((dir) => {
    copyFileSync(SAMPLE, join(dir, 'really-a-bvh.json'));
    assert.equal(loadMotionFile(join(dir, 'really-a-bvh.json')).numFrames, 92);
    const clip = openDataset().clip('bnr1_bow_happy_001');
    saveMotionFile(clip, join(dir, 'npy-inside.bvh'), 'npy');
    assert.deepEqual(loadMotionFile(join(dir, 'npy-inside.bvh')).joints, clip.joints);
    saveMotionFile(clip, join(dir, 'json-inside.txt'), 'json');
    assert.equal(loadMotionFile(join(dir, 'json-inside.txt')).numFrames, clip.numFrames);
  });
  assert.equal(sniffFormat(Buffer.from('\uFEFF  HIERARCHY\r\n')), 'bvh');
  assert.equal(sniffFormat(Buffer.from('garbage')), null);
  assert.equal(formatFromExtension('x/Y.BVH'), 'bvh');
  assert.equal(formatFromExtension('x/y.fbx'), null);
});

function expectLoadError(dir: string, name: string, content: string | Uint8Array, pattern: RegExp): void {
  const path = join(dir, name);
  writeFileSync(path, content);
  assert.throws(
    () => loadMotionFile(path),
    (err: Error) => {
      assert.ok(err.message.startsWith(`${path}`), `message names the file: ${err.message}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('bad motion files: missing, empty, directory, corrupt, wrong joint count, NaN, unknown format', () => {
  assert.throws(() => loadMotionFile('/nonexistent/walk.bvh'), /^Error: \/nonexistent\/walk\.bvh: no such file$/);
  assert.throws(() => loadMotionFile(join(SAMPLE, 'walk.bvh')), /bow_happy_001\.bvh\/walk\.bvh: cannot read \(ENOTDIR/);
  withTmp((dir) => {
    assert.throws(() => loadMotionFile(dir), /is a directory, not a motion file/);
    expectLoadError(dir, 'empty.json', '', /the file is empty/);
    expectLoadError(dir, 'empty.bvh', '', /the file is empty/);
    expectLoadError(dir, 'what.xyz', 'hello', /unknown motion format/);
    expectLoadError(dir, 'broken.json', '{"format": "charades-motion/1", "fps": 20,', /not valid JSON/);
    expectLoadError(dir, 'other.json', '{"format": "other/2"}', /not a charades-motion\/1 file: format/);
    expectLoadError(
      dir,
      'nofps.json',
      '{"format": "charades-motion/1", "numFrames": 0, "joints": []}',
      /not a charades-motion\/1 file: fps/,
    );
    const frame = (n: number) => Array.from({ length: n }, () => [0, 1, 0]);
    const doc = (joints: unknown, extra = {}) =>
      JSON.stringify({ format: 'charades-motion/1', fps: 20, numFrames: 1, joints, ...extra });
    expectLoadError(dir, 'j24.json', doc([frame(24)]), /joints\[0\]: expected 22 joints, got 24/);
    expectLoadError(dir, 'frames.json', doc([frame(22), frame(22)]), /"joints" has 2 frames, but numFrames is 1/);
    expectLoadError(
      dir,
      'str.json',
      doc([[...frame(21), [0, 'a', 0]]]),
      /joints\[0\]\[21\]\[1\] is not a finite number: "a"/,
    );
    expectLoadError(
      dir,
      'null.json',
      doc([[...frame(21), [0, null, 0]]]),
      /joints\[0\]\[21\]\[1\] is not a finite number: null/,
    );
    expectLoadError(
      dir,
      'rot.json',
      doc([frame(22)], { rotations: [frame(22)] }),
      /rotations\[0\]\[0\] must be 4 numbers/,
    );
    expectLoadError(
      dir,
      'seg.json',
      doc([frame(22)], { segments: [{ text: 'wave', start: 0, end: 5 }] }),
      /invalid motion: segments\.0: segment frames 0–5 outside 0–1/,
    );
    expectLoadError(
      dir,
      'zero.json',
      JSON.stringify({ format: 'charades-motion/1', fps: 20, numFrames: 0, joints: [] }),
      /the motion has no frames/,
    );
    expectLoadError(
      dir,
      'j24.npy',
      serializeNpy({ dtype: 'float32', shape: [3, 24, 3], data: new Float32Array(216) }),
      /expected 22 joints, got 24/,
    );
    const nan = new Float32Array(66);
    nan[5] = NaN;
    expectLoadError(
      dir,
      'nan.npy',
      serializeNpy({ dtype: 'float32', shape: [1, 22, 3], data: nan }),
      /joint positions contain NaN at frame 0, joint 1/,
    );
    expectLoadError(
      dir,
      'bad.bvh',
      readFileSync(SAMPLE, 'utf8').replace('Frames:\t138', 'Frames:\t139'),
      /bad\.bvh:\d+: frame count mismatch/,
    );
    expectLoadError(
      dir,
      'huge.bvh',
      readFileSync(SAMPLE, 'utf8').replace(/\n0 0 0 0 0 -0 /, '\n1e999 0 0 0 0 -0 '),
      /huge\.bvh:135: value 1 is out of range: "1e999"/,
    );
  });
});

test('saving: unknown extension, NaN refused, unwritable path', () => {
  const m = makeMotion({ fps: 20, numFrames: 1, joints: new Float32Array(66) });
  assert.throws(
    () => saveMotionFile(m, '/tmp/out.fbx'),
    /\/tmp\/out\.fbx: cannot tell the output format from the extension; use \.bvh, \.npy or \.json/,
  );
  assert.throws(() => saveMotionFile(m, '/tmp/out.dat', 'gltf' as never), /unknown motion format "gltf"/);
  const nan = makeMotion({ fps: 20, numFrames: 1, joints: new Float32Array(66).fill(NaN) });
  assert.throws(
    () => saveMotionFile(nan, '/tmp/nan.json'),
    /\/tmp\/nan\.json: refusing to save a motion whose joint positions contain NaN at frame 0, joint 0/,
  );
  // A path below a regular file cannot be created.
  assert.throws(() => saveMotionFile(m, join(SAMPLE, 'x.json')), /bow_happy_001\.bvh\/x\.json: cannot write/);
  assert.equal(parseMotionJson(motionToJson(m)).numFrames, 1);
});
