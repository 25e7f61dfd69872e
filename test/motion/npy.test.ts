import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { motionFromNpy, motionToNpy, parseNpy, readNpyFile, serializeNpy } from '../../src/motion/npy.js';
import { openDataset } from '../../src/motion/dataset.js';
import { makeMotion } from '../../src/motion/contracts.js';

const PYTHON = '/usr/bin/python3';

/** Runs a NumPy script (the real reference implementation) in `dir`. */
function numpy(dir: string, script: string): string {
  return execFileSync(PYTHON, ['-c', `import numpy as np, os\nos.chdir(${JSON.stringify(dir)})\n${script}`], {
    encoding: 'utf8',
  });
}

test('reads what NumPy writes: versions 1/2/3, both byte orders, every numeric dtype', () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-npy-'));
  try {
    numpy(
      dir,
      [
        'a = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 8 - 1',
        "for name in ['<f2', '>f2', '<f4', '>f4', '<f8', '>f8', '<i2', '>i2', '<i4', '>i4', '|i1', '<u2', '>u4', '<i8', '>u8']:",
        "    np.save(name.replace('<', 'le_').replace('>', 'be_').replace('|', 'na_') + '.npy', (a * 8 + 8).astype(name) if name[1] in 'iu' else a.astype(name))",
        "np.save('bool.npy', a > 0)",
        "np.save('scalar.npy', np.float32(2.5))",
        "np.lib.format.write_array(open('v2.npy', 'wb'), a.astype('<f4'), version=(2, 0))",
        "np.lib.format.write_array(open('v3.npy', 'wb'), a.astype('>f8'), version=(3, 0))",
        "np.save('fortran.npy', np.asfortranarray(a))",
        "np.save('record.npy', np.zeros(3, dtype=[('x', '<f4'), ('y', '<i2')]))",
      ].join('\n'),
    );
    const expected = Array.from({ length: 24 }, (_, i) => i / 8 - 1);
    for (const name of ['le_f2', 'be_f2', 'le_f4', 'be_f4', 'le_f8', 'be_f8', 'v2', 'v3']) {
      const arr = readNpyFile(join(dir, `${name}.npy`));
      assert.deepEqual(arr.shape, [2, 3, 4], name);
      assert.deepEqual(Array.from(arr.data as Float32Array), expected, name);
    }
    for (const name of ['le_i2', 'be_i2', 'le_i4', 'be_i4', 'na_i1', 'le_u2', 'be_u4']) {
      assert.deepEqual(
        Array.from(readNpyFile(join(dir, `${name}.npy`)).data as Int32Array),
        expected.map((v) => v * 8 + 8),
        name,
      );
    }
    assert.deepEqual(
      Array.from(readNpyFile(join(dir, 'le_i8.npy')).data as BigInt64Array).map(Number),
      expected.map((v) => v * 8 + 8),
    );
    assert.deepEqual(
      Array.from(readNpyFile(join(dir, 'be_u8.npy')).data as BigUint64Array).map(Number),
      expected.map((v) => v * 8 + 8),
    );
    assert.equal(readNpyFile(join(dir, 'bool.npy')).dtype, 'bool');
    assert.deepEqual(readNpyFile(join(dir, 'scalar.npy')).shape, []);
    assert.throws(
      () => readNpyFile(join(dir, 'fortran.npy')),
      /fortran\.npy: the array is stored in Fortran \(column-major\) order; save it in C order/,
    );
    assert.throws(
      () => readNpyFile(join(dir, 'record.npy')),
      /record\.npy: structured \(record\) dtypes are not supported/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NumPy reads what we write, for several dtypes and shapes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'charades-npy-'));
  try {
    writeFileSync(
      join(dir, 'f4.npy'),
      serializeNpy({ dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) }),
    );
    writeFileSync(
      join(dir, 'f2.npy'),
      serializeNpy({ dtype: 'float16', shape: [3], data: new Float32Array([0.5, -2, 1024]) }),
    );
    writeFileSync(
      join(dir, 'i2.npy'),
      serializeNpy({ dtype: 'int16', shape: [2, 1, 2], data: new Int16Array([-3, 7, 32767, -32768]) }),
    );
    const out = numpy(
      dir,
      "for n in ['f4', 'f2', 'i2']:\n    a = np.load(n + '.npy'); print(a.dtype, a.shape, a.ravel().tolist())",
    );
    assert.equal(
      out,
      'float32 (2, 3) [1.0, 2.0, 3.0, 4.0, 5.0, 6.5]\nfloat16 (3,) [0.5, -2.0, 1024.0]\nint16 (2, 1, 2) [-3, 7, 32767, -32768]\n',
    );
    const bytes = readFileSync(join(dir, 'f4.npy'));
    assert.equal((10 + bytes.readUInt16LE(8)) % 64, 0, 'data aligned to 64 bytes as NumPy does');
    assert.throws(
      () => serializeNpy({ dtype: 'float32', shape: [4], data: new Float32Array(3) }),
      /shape \(4\) holds 4 values, the data has 3/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HumanML3D-style motions: (T, 22, 3) float32 round trip, float64 accepted', () => {
  const clip = openDataset().clip('bnr2_walk_normal_001');
  const back = motionFromNpy(parseNpy(motionToNpy(clip), 'walk.npy'), 'walk.npy');
  assert.equal(back.numFrames, clip.numFrames);
  assert.equal(back.fps, 20);
  assert.deepEqual(back.joints, clip.joints);
  const f64 = serializeNpy({
    dtype: 'float64',
    shape: [1, 22, 3],
    data: Float64Array.from(clip.joints.subarray(0, 66)),
  });
  assert.deepEqual(motionFromNpy(parseNpy(f64, 'f64.npy'), 'f64.npy').joints, clip.joints.subarray(0, 66));
});

test('bad NPY content gives an error naming the file and the problem', () => {
  const good = motionToNpy(makeMotion({ fps: 20, numFrames: 2, joints: new Float32Array(132) }));
  const bad = (bytes: Uint8Array, pattern: RegExp) =>
    assert.throws(
      () => parseNpy(bytes, 'x.npy'),
      (e: Error) => /^x\.npy: /.test(e.message) && pattern.test(e.message),
    );
  bad(new Uint8Array(0), /the file is empty/);
  bad(Buffer.from('HIERARCHY\nROOT'), /not a NumPy \.npy file/);
  bad(
    good.subarray(0, good.length - 5),
    /truncated data: shape \(2, 22, 3\) of float32 needs 528 bytes, the file has 523/,
  );
  bad(good.subarray(0, 40), /truncated \.npy header/);
  const v9 = Buffer.from(good);
  v9[6] = 9;
  bad(v9, /unsupported \.npy format version 9\.0/);
  bad(Buffer.from(good.toString('latin1').replace("'<f4'", "'<c8'"), 'latin1'), /unsupported dtype "<c8"/);
  bad(
    Buffer.from(good.toString('latin1').replace("'shape'", "'shope'"), 'latin1'),
    /malformed \.npy header \(no "shape"\)/,
  );
  bad(Buffer.from(good.toString('latin1').replace('(2, 22, 3)', '(2, x, 3)'), 'latin1'), /malformed \.npy shape/);
  const motion = (dtype: 'float32' | 'int16', shape: number[], data: Float32Array | Int16Array) => () =>
    motionFromNpy(parseNpy(serializeNpy({ dtype, shape, data }), 'm.npy'), 'm.npy');
  assert.throws(
    motion('float32', [2, 24, 3], new Float32Array(144)),
    /^Error: m\.npy: expected 22 joints, got 24 \(shape \(2, 24, 3\)\)$/,
  );
  assert.throws(
    motion('float32', [2, 66], new Float32Array(132)),
    /m\.npy: expected a \(T, 22, 3\) array of joint positions, got shape \(2, 66\)/,
  );
  assert.throws(
    motion('float32', [2, 22, 4], new Float32Array(176)),
    /m\.npy: expected 3 coordinates per joint, got 4/,
  );
  assert.throws(
    motion('int16', [1, 22, 3], new Int16Array(66)),
    /m\.npy: expected float32 or float64 joint positions, got int16/,
  );
  const nan = new Float32Array(132);
  nan[70] = NaN;
  assert.throws(motion('float32', [2, 22, 3], nan), /m\.npy: joint positions contain NaN at frame 1, joint 1/);
  assert.throws(() => readNpyFile('/nonexistent/m.npy'), /\/nonexistent\/m\.npy: no such file/);
  assert.throws(() => readNpyFile(tmpdir()), /: cannot read \(EISDIR/);
});
