/**
 * NumPy .npy files (format versions 1, 2 and 3; any byte order; C order only) and HumanML3D-style
 * motions stored in them: `new_joints/*.npy` are float32 (T, 22, 3) global joint positions in metres, Y up, 20 fps.
 */
import { readFileSync } from 'node:fs';
import type { Motion } from './contracts.js';
import { makeMotion } from './contracts.js';
import { decodeFloat16, encodeFloat16 } from './dataset.js';
import { FPS, NUM_JOINTS } from './skeleton.js';

export type NpyDtype =
  | 'float16'
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** An n-dimensional array in C order. float16 values are decoded into a Float32Array. */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

interface DtypeInfo {
  dtype: NpyDtype;
  size: number;
  read: (view: DataView, offset: number, little: boolean) => number | bigint;
  make: (n: number) => NpyData;
}

const DTYPES: Record<string, DtypeInfo> = {
  f2: { dtype: 'float16', size: 2, read: (v, o, le) => v.getUint16(o, le), make: (n) => new Uint16Array(n) },
  f4: { dtype: 'float32', size: 4, read: (v, o, le) => v.getFloat32(o, le), make: (n) => new Float32Array(n) },
  f8: { dtype: 'float64', size: 8, read: (v, o, le) => v.getFloat64(o, le), make: (n) => new Float64Array(n) },
  i1: { dtype: 'int8', size: 1, read: (v, o) => v.getInt8(o), make: (n) => new Int8Array(n) },
  i2: { dtype: 'int16', size: 2, read: (v, o, le) => v.getInt16(o, le), make: (n) => new Int16Array(n) },
  i4: { dtype: 'int32', size: 4, read: (v, o, le) => v.getInt32(o, le), make: (n) => new Int32Array(n) },
  i8: { dtype: 'int64', size: 8, read: (v, o, le) => v.getBigInt64(o, le), make: (n) => new BigInt64Array(n) },
  u1: { dtype: 'uint8', size: 1, read: (v, o) => v.getUint8(o), make: (n) => new Uint8Array(n) },
  u2: { dtype: 'uint16', size: 2, read: (v, o, le) => v.getUint16(o, le), make: (n) => new Uint16Array(n) },
  u4: { dtype: 'uint32', size: 4, read: (v, o, le) => v.getUint32(o, le), make: (n) => new Uint32Array(n) },
  u8: { dtype: 'uint64', size: 8, read: (v, o, le) => v.getBigUint64(o, le), make: (n) => new BigUint64Array(n) },
  b1: { dtype: 'bool', size: 1, read: (v, o) => v.getUint8(o), make: (n) => new Uint8Array(n) },
};

const DESCR_OF: Record<NpyDtype, string> = {
  float16: '<f2',
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  uint64: '<u8',
  bool: '|b1',
};

/** Reads a .npy file; errors name the file. */
export function readNpyFile(path: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${(err as Error).message})`, {
      cause: err,
    });
  }
  return parseNpy(bytes, path);
}

/** Parses .npy bytes. `file` is only used in error messages. */
export function parseNpy(bytes: Uint8Array, file = '<npy>'): NpyArray {
  const fail = (message: string): never => {
    throw new Error(`${file}: ${message}`);
  };
  if (bytes.length === 0) fail('the file is empty');
  if (bytes.length < 10 || !NPY_MAGIC.equals(Buffer.from(bytes.subarray(0, 6))))
    fail('not a NumPy .npy file (the magic string "\\x93NUMPY" is missing)');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}.${bytes[7]} (versions 1–3 are supported)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenSize) fail('truncated .npy header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenSize + headerLen;
  if (bytes.length < dataStart)
    fail(`truncated .npy header: it says ${headerLen} bytes, the file has ${bytes.length - 8 - lenSize}`);
  const header = Buffer.from(bytes.subarray(8 + lenSize, dataStart)).toString(major === 3 ? 'utf8' : 'latin1');
  const { descr, fortranOrder, shape } = parseHeader(header, fail);
  if (fortranOrder)
    fail(
      'the array is stored in Fortran (column-major) order; save it in C order, e.g. np.save(path, np.ascontiguousarray(a))',
    );
  const byteOrder = descr[0];
  const info = DTYPES[descr.slice(1)];
  if (!'<>|='.includes(byteOrder) || !info)
    fail(`unsupported dtype "${descr}" (supported: float16/32/64, int8–64, uint8–64, bool)`);
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * info.size;
  const have = bytes.length - dataStart;
  if (have < need)
    fail(`truncated data: shape (${shape.join(', ')}) of ${info.dtype} needs ${need} bytes, the file has ${have}`);
  const little = byteOrder === '<' || byteOrder === '|' || (byteOrder === '=' && isLittleEndianHost());
  const raw = info.make(count);
  const start = bytes.byteOffset + dataStart;
  if (little === isLittleEndianHost()) {
    // Same byte order: one copy of the bytes (also fixes alignment, which typed-array views require).
    new Uint8Array(raw.buffer).set(new Uint8Array(bytes.buffer, start, need));
  } else {
    for (let i = 0; i < count; i++)
      (raw as unknown as (number | bigint)[])[i] = info.read(view, dataStart + i * info.size, little);
  }
  const data = info.dtype === 'float16' ? decodeFloat16(raw as Uint16Array) : raw;
  return { dtype: info.dtype, shape, data };
}

function isLittleEndianHost(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

function parseHeader(
  header: string,
  fail: (m: string) => never,
): { descr: string; fortranOrder: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  if (!descr) {
    if (/['"]descr['"]\s*:\s*\[/.test(header))
      fail('structured (record) dtypes are not supported; save a plain numeric array');
    fail(`malformed .npy header (no "descr"): ${header.trim().slice(0, 80)}`);
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  if (!fortran) fail(`malformed .npy header (no "fortran_order"): ${header.trim().slice(0, 80)}`);
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!shapeMatch) fail(`malformed .npy header (no "shape"): ${header.trim().slice(0, 80)}`);
  const parts = shapeMatch![1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const shape = parts.map((p) =>
    /^\d+L?$/.test(p) ? parseInt(p, 10) : fail(`malformed .npy shape "(${shapeMatch![1]})"`),
  );
  return { descr: descr![1], fortranOrder: fortran![1] === 'True', shape };
}

/** .npy bytes (format 1.0, or 2.0 for very long headers), little-endian, C order. */
export function serializeNpy(array: NpyArray): Buffer {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length)
    throw new Error(
      `serializeNpy: shape (${array.shape.join(', ')}) holds ${count} values, the data has ${array.data.length}`,
    );
  const descr = DESCR_OF[array.dtype];
  if (!descr) throw new Error(`serializeNpy: unsupported dtype "${array.dtype}"`);
  const shapeText = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const version = dict.length + 12 > 65535 ? 2 : 1;
  const prefix = version === 1 ? 10 : 12;
  // NumPy pads the header with spaces so the data starts on a 64-byte boundary.
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict.padEnd(total - prefix - 1, ' ') + '\n';
  const out = Buffer.alloc(total);
  NPY_MAGIC.copy(out, 0);
  out[6] = version;
  out[7] = 0;
  if (version === 1) out.writeUInt16LE(header.length, 8);
  else out.writeUInt32LE(header.length, 8);
  out.write(header, prefix, 'latin1');
  const body = array.dtype === 'float16' ? encodeFloat16(array.data as Float32Array) : array.data;
  const payload = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (!isLittleEndianHost()) throw new Error('serializeNpy: writing on a big-endian machine is not supported');
  return Buffer.concat([out, payload]);
}

/** The first NaN or infinite value of a T×22×3 joint array, named by frame and joint; null when all are finite. */
export function findNonFinite(joints: ArrayLike<number>): string | null {
  for (let i = 0; i < joints.length; i++) {
    if (!Number.isFinite(joints[i])) {
      const frame = Math.floor(i / (NUM_JOINTS * 3));
      const joint = Math.floor(i / 3) % NUM_JOINTS;
      return `${Number.isNaN(joints[i]) ? 'NaN' : 'an infinite value'} at frame ${frame}, joint ${joint}`;
    }
  }
  return null;
}

/** A Motion from a HumanML3D-style (T, 22, 3) array of joint positions in metres. */
export function motionFromNpy(array: NpyArray, file = '<npy>', fps: number = FPS): Motion {
  const shapeText = `(${array.shape.join(', ')})`;
  if (array.shape.length !== 3)
    throw new Error(`${file}: expected a (T, ${NUM_JOINTS}, 3) array of joint positions, got shape ${shapeText}`);
  const [T, J, C] = array.shape;
  if (J !== NUM_JOINTS) throw new Error(`${file}: expected ${NUM_JOINTS} joints, got ${J} (shape ${shapeText})`);
  if (C !== 3) throw new Error(`${file}: expected 3 coordinates per joint, got ${C} (shape ${shapeText})`);
  if (!array.dtype.startsWith('float'))
    throw new Error(`${file}: expected float32 or float64 joint positions, got ${array.dtype}`);
  const joints = new Float32Array(array.data as ArrayLike<number>);
  const bad = findNonFinite(joints);
  if (bad) throw new Error(`${file}: joint positions contain ${bad}`);
  return makeMotion({ fps, numFrames: T, joints, provenance: { source: `file:${file}` } });
}

/** HumanML3D-style .npy bytes of a motion: float32 (T, 22, 3). */
export function motionToNpy(motion: Motion): Buffer {
  return serializeNpy({ dtype: 'float32', shape: [motion.numFrames, NUM_JOINTS, 3], data: motion.joints });
}
