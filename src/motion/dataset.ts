/**
 * Reader for packed motion data (../shared/data/<pack>, see data/README.md): one pack per folder,
 * `index.jsonl` (one record per clip) + `positions_mm.i16` (int16 mm, [frames, 22, 3]) + optionally
 * `rotations_quat.f16` (float16 quaternions w,x,y,z, [frames, 22, 4]). Packs without rotations (CMU, HDM05)
 * are "positions only": everything that needs only joint positions works on them, and asking one of their clips
 * for rotations is refused by name. Several packs open as one Dataset; every clip keeps its pack and licence.
 *
 * Opening parses and validates the index and checks the binary sizes with `stat` only; each binary is read
 * into memory once, on first use, and clips are handed out as views into it, decoded only when asked for.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { makeMotion } from './contracts.js';
import type { Motion } from './contracts.js';
import { defaultDataDir, splitDataDirs } from './paths.js';
import { NUM_JOINTS } from './skeleton.js';

export const INDEX_FILE = 'index.jsonl';
export const POSITIONS_FILE = 'positions_mm.i16';
export const ROTATIONS_FILE = 'rotations_quat.f16';

/** Bytes one frame takes in each binary file. */
export const POSITION_FRAME_BYTES = NUM_JOINTS * 3 * 2;
export const ROTATION_FRAME_BYTES = NUM_JOINTS * 4 * 2;

export const SPLITS = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

const Vec3Schema = z.tuple([z.number(), z.number(), z.number()]);

export const ClipRecordSchema = z.object({
  id: z.string().min(1),
  source: z.string(),
  dataset: z.string().min(1),
  license: z.string().min(1),
  fps: z.number().positive(),
  num_frames: z.number().int().min(2, 'a clip needs at least 2 frames'),
  duration_s: z.number().nonnegative(),
  frame_offset: z.number().int().nonnegative(),
  pos_byte_offset: z.number().int().nonnegative(),
  pos_byte_length: z.number().int().positive(),
  rot_byte_offset: z.number().int().nonnegative().nullable(),
  rot_byte_length: z.number().int().positive().nullable(),
  split: z.enum(SPLITS),
  action_labels: z.array(z.string()),
  /** Positions-only packs have no styles; read as "" so every consumer sees a string. */
  style: z
    .string()
    .nullable()
    .transform((s) => s ?? ''),
  texts: z.array(z.string()),
  text_source: z.string().optional(),
  rest_offsets_m: z.array(Vec3Schema).length(NUM_JOINTS).nullable(),
  source_fps: z.number().positive().optional(),
  source_frames: z.number().int().nonnegative().optional(),
  origin_shift_m: Vec3Schema.optional(),
  floor_shift_m: z.number().optional(),
  source_description: z.string().optional(),
  subject: z.string().optional(),
  skeleton_variant: z.string().optional(),
});
export type ClipRecord = z.infer<typeof ClipRecordSchema>;

/** One folder of packed data. `name` is the folder's name (motion, cmu, hdm05): what manifests and stats say. */
export interface PackInfo {
  name: string;
  dir: string;
  clips: number;
  frames: number;
  hasRotations: boolean;
  licenses: string[];
}

export interface Dataset {
  /** The first pack's folder (the only one for a single pack). */
  readonly dir: string;
  readonly packs: readonly PackInfo[];
  readonly records: readonly ClipRecord[];
  readonly totalFrames: number;
  /** The raw bytes of index.jsonl (for hashing: the features cache records which index it was built from). */
  readonly indexBytes: Buffer;
  byId(id: string): ClipRecord;
  split(name: string): ClipRecord[];
  /** The pack a clip came from (its folder name). */
  packOf(record: ClipRecord): string;
  /** Whether the clip has local rotations (false for positions-only packs). */
  hasRotations(record: ClipRecord): boolean;
  /** Zero-copy view of a clip's int16 millimetre positions, [T, 22, 3]. */
  positionsMm(record: ClipRecord): Int16Array;
  /** Zero-copy view of a clip's raw float16 rotation bits, [T, 22, 4]. */
  rotationsF16(record: ClipRecord): Uint16Array;
  /** A clip's global positions in metres, T×22×3 (a fresh array). */
  positions(record: ClipRecord): Float32Array<ArrayBuffer>;
  /** A clip's local rotations as quaternions (w, x, y, z), T×22×4 (a fresh array). */
  rotations(record: ClipRecord): Float32Array<ArrayBuffer>;
  clip(idOrRecord: string | ClipRecord): Motion;
}

// ---------------------------------------------------------------- float16

let f16Table: Float32Array | undefined;

/** All 65,536 float16 bit patterns decoded once: decoding a clip is then one table lookup per value. */
function float16Table(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = decodeFloat16Bits(h);
  f16Table = table;
  return table;
}

/** IEEE 754 half-precision bits → number (subnormals, infinities and NaN included). */
export function decodeFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 31;
  const mantissa = h & 1023;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Decodes float16 bit patterns into float32 values (into `out` when given). */
export function decodeFloat16(u16: Uint16Array): Float32Array<ArrayBuffer>;
export function decodeFloat16<O extends Float32Array>(u16: Uint16Array, out: O): O;
export function decodeFloat16(u16: Uint16Array, out: Float32Array = new Float32Array(u16.length)): Float32Array {
  if (out.length < u16.length)
    throw new Error(`decodeFloat16: output holds ${out.length} values, input has ${u16.length}`);
  const table = float16Table();
  for (let i = 0; i < u16.length; i++) out[i] = table[u16[i]];
  return out;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** number → float16 bits, rounding to nearest even; overflow becomes ±Infinity, NaN stays NaN. */
export function encodeFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++;
  return sign | r;
}

/** Encodes numbers as float16 bit patterns (into `out` when given). */
export function encodeFloat16(
  values: ArrayLike<number>,
  out: Uint16Array = new Uint16Array(values.length),
): Uint16Array {
  if (out.length < values.length)
    throw new Error(`encodeFloat16: output holds ${out.length} values, input has ${values.length}`);
  for (let i = 0; i < values.length; i++) out[i] = encodeFloat16Bits(values[i]);
  return out;
}

// ---------------------------------------------------------------- index

function parseIndex(text: string, file: string): ClipRecord[] {
  const records: ClipRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new Error(`${file} line ${i + 1}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
    const parsed = ClipRecordSchema.safeParse(raw);
    if (!parsed.success) {
      const id = typeof (raw as { id?: unknown })?.id === 'string' ? ` (clip ${(raw as { id: string }).id})` : '';
      const issues = parsed.error.issues.map((iss) => `${iss.path.join('.') || 'record'}: ${iss.message}`).join('; ');
      throw new Error(`${file} line ${i + 1}${id}: ${issues}`);
    }
    records.push(parsed.data);
  }
  if (records.length === 0) throw new Error(`${file}: no clip records`);
  return records;
}

function checkRecordLayout(records: readonly ClipRecord[], indexFile: string, withRotations: boolean): number {
  const seen = new Set<string>();
  let expectedOffset = 0;
  for (const r of records) {
    const where = `${indexFile} clip ${r.id}`;
    if (seen.has(r.id)) throw new Error(`${where}: duplicate id`);
    seen.add(r.id);
    if (r.frame_offset !== expectedOffset) {
      throw new Error(
        `${where}: frame_offset is ${r.frame_offset}, expected ${expectedOffset} (clips are stored one after another)`,
      );
    }
    const expect = (field: keyof ClipRecord, actual: number, want: number): void => {
      if (actual !== want) throw new Error(`${where}: ${String(field)} is ${actual}, expected ${want}`);
    };
    expect('pos_byte_offset', r.pos_byte_offset, r.frame_offset * POSITION_FRAME_BYTES);
    expect('pos_byte_length', r.pos_byte_length, r.num_frames * POSITION_FRAME_BYTES);
    if (withRotations) {
      if (r.rot_byte_offset === null || r.rot_byte_length === null || r.rest_offsets_m === null) {
        throw new Error(
          `${where}: rot_byte_offset, rot_byte_length and rest_offsets_m are required in a pack with ${ROTATIONS_FILE}`,
        );
      }
      expect('rot_byte_offset', r.rot_byte_offset, r.frame_offset * ROTATION_FRAME_BYTES);
      expect('rot_byte_length', r.rot_byte_length, r.num_frames * ROTATION_FRAME_BYTES);
    }
    expectedOffset += r.num_frames;
  }
  return expectedOffset;
}

function checkBinarySize(file: string, frameBytes: number, totalFrames: number): void {
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  const size = statSync(file).size;
  const want = totalFrames * frameBytes;
  if (size !== want) {
    const frames = (size / frameBytes).toFixed(size % frameBytes ? 2 : 0);
    throw new Error(
      `${file} has ${size} bytes (${frames} frames) but index.jsonl describes ${totalFrames} frames = ${want} bytes; ` +
        (size < want ? 'the file is truncated' : 'the file has extra bytes') +
        ' or does not belong to this index',
    );
  }
}

/** One read into a fresh ArrayBuffer, so typed-array views are aligned and the data is never copied again. */
function readWholeFile(file: string): ArrayBuffer {
  return readRange(file, 0, statSync(file).size);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The few ids closest to a mistyped one, so the error message can suggest them. */
export function nearestIds(id: string, ids: Iterable<string>, count = 3): string[] {
  const scored: { id: string; d: number }[] = [];
  for (const candidate of ids) scored.push({ id: candidate, d: editDistance(id, candidate) });
  scored.sort((x, y) => x.d - y.d || x.id.localeCompare(y.id));
  return scored.slice(0, count).map((s) => s.id);
}

// ---------------------------------------------------------------- dataset

/** A pack is positions-only when its folder has no rotations file and its records say so (rot fields null). */
function packHasRotations(dir: string, records: readonly ClipRecord[]): boolean {
  if (existsSync(join(dir, ROTATIONS_FILE))) return true;
  const claims = records.find((r) => r.rot_byte_offset !== null);
  if (claims)
    throw new Error(
      `${join(dir, ROTATIONS_FILE)} is missing but clip ${claims.id} in ${join(dir, INDEX_FILE)} has rotation offsets`,
    );
  return false;
}

/** How clip data is read: whole binaries once (training, evaluation), or each clip's bytes when asked (a few poses). */
export interface OpenOptions {
  /** Read only the asked clip's bytes each time instead of loading the whole binaries (default false). */
  clipReads?: boolean;
}

/** One read of `length` bytes at `offset` into a fresh, aligned buffer. */
function readRange(file: string, offset: number, length: number): ArrayBuffer {
  const fd = openSync(file, 'r');
  try {
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, bytes, done, length - done, offset + done);
      if (n === 0)
        throw new Error(`${file}: file ended after ${offset + done} bytes while reading ${length} at ${offset}`);
      done += n;
    }
    return bytes.buffer;
  } finally {
    closeSync(fd);
  }
}

/** Opens one pack, validating the index and the binary file sizes (stat only; binaries are read on first use). */
function openPack(dir: string, opts: OpenOptions = {}): Dataset {
  if (endianness() !== 'LE') throw new Error('the packed motion data is little-endian; this machine is big-endian');
  const indexFile = join(dir, INDEX_FILE);
  if (!existsSync(indexFile)) {
    throw new Error(`no motion data at ${dir} (${INDEX_FILE} missing); pass --data DIR or set CHARADES_DATA`);
  }
  const indexBytes = readFileSync(indexFile);
  const records = parseIndex(indexBytes.toString('utf8'), indexFile);
  const withRotations = packHasRotations(dir, records);
  const totalFrames = checkRecordLayout(records, indexFile, withRotations);
  const positionsFile = join(dir, POSITIONS_FILE);
  const rotationsFile = join(dir, ROTATIONS_FILE);
  checkBinarySize(positionsFile, POSITION_FRAME_BYTES, totalFrames);
  if (withRotations) checkBinarySize(rotationsFile, ROTATION_FRAME_BYTES, totalFrames);
  const pack: PackInfo = {
    name: basename(resolve(dir)),
    dir,
    clips: records.length,
    frames: totalFrames,
    hasRotations: withRotations,
    licenses: [...new Set(records.map((r) => r.license))].sort(),
  };

  const byIdMap = new Map(records.map((r) => [r.id, r]));
  let positionsAll: Int16Array | undefined;
  let rotationsAll: Uint16Array | undefined;
  const allPositions = (): Int16Array => (positionsAll ??= new Int16Array(readWholeFile(positionsFile)));
  const allRotations = (): Uint16Array => (rotationsAll ??= new Uint16Array(readWholeFile(rotationsFile)));

  const byId = (id: string): ClipRecord => {
    const r = byIdMap.get(id);
    if (!r)
      throw new Error(
        `unknown clip id "${id}" in ${indexFile}; nearest ids: ${nearestIds(id, byIdMap.keys()).join(', ')}`,
      );
    return r;
  };

  const positionsMm = (r: ClipRecord): Int16Array =>
    opts.clipReads
      ? new Int16Array(
          readRange(positionsFile, r.frame_offset * POSITION_FRAME_BYTES, r.num_frames * POSITION_FRAME_BYTES),
        )
      : allPositions().subarray(r.frame_offset * NUM_JOINTS * 3, (r.frame_offset + r.num_frames) * NUM_JOINTS * 3);
  const rotationsF16 = (r: ClipRecord): Uint16Array => {
    if (!withRotations)
      throw new Error(`clip ${r.id} has no rotations: pack "${pack.name}" (${dir}) stores joint positions only`);
    return opts.clipReads
      ? new Uint16Array(
          readRange(rotationsFile, r.frame_offset * ROTATION_FRAME_BYTES, r.num_frames * ROTATION_FRAME_BYTES),
        )
      : allRotations().subarray(r.frame_offset * NUM_JOINTS * 4, (r.frame_offset + r.num_frames) * NUM_JOINTS * 4);
  };
  const rotations = (r: ClipRecord): Float32Array<ArrayBuffer> => decodeFloat16(rotationsF16(r));
  return assembleDataset({
    dir,
    packs: [pack],
    records,
    indexBytes,
    byId,
    packOf: () => pack.name,
    hasRotations: () => withRotations,
    positionsMm,
    rotationsF16,
    rotations,
  });
}

/** The parts of a Dataset that depend on where its clips live; the rest is derived from them. */
type DatasetCore = Pick<
  Dataset,
  | 'dir'
  | 'packs'
  | 'records'
  | 'indexBytes'
  | 'byId'
  | 'packOf'
  | 'hasRotations'
  | 'positionsMm'
  | 'rotationsF16'
  | 'rotations'
>;

function assembleDataset(core: DatasetCore): Dataset {
  const positions = (r: ClipRecord): Float32Array<ArrayBuffer> => {
    const mm = core.positionsMm(r);
    const out = new Float32Array(mm.length);
    for (let i = 0; i < mm.length; i++) out[i] = mm[i] / 1000;
    return out;
  };
  const clip = (idOrRecord: string | ClipRecord): Motion => {
    const r = typeof idOrRecord === 'string' ? core.byId(idOrRecord) : idOrRecord;
    const text = r.texts[0];
    const rotated = core.hasRotations(r) && r.rest_offsets_m !== null;
    return makeMotion({
      fps: r.fps,
      numFrames: r.num_frames,
      joints: positions(r),
      ...(rotated ? { rotations: core.rotations(r), restOffsets: r.rest_offsets_m ?? undefined } : {}),
      segments: text === undefined ? [] : [{ text, start: 0, end: r.num_frames }],
      provenance: { source: `dataset:${r.id}` },
    });
  };
  const split = (name: string): ClipRecord[] => {
    if (!(SPLITS as readonly string[]).includes(name))
      throw new Error(`unknown split "${name}"; splits are: ${SPLITS.join(', ')}`);
    return core.records.filter((r) => r.split === name);
  };
  const totalFrames = core.packs.reduce((s, p) => s + p.frames, 0);
  return { ...core, totalFrames, split, positions, clip };
}

/** Joins opened packs into one Dataset; a clip id must be unique across them. */
function mergePacks(parts: Dataset[]): Dataset {
  const owner = new Map<ClipRecord, Dataset>();
  const byIdMap = new Map<string, ClipRecord>();
  for (const part of parts) {
    for (const r of part.records) {
      const clash = byIdMap.get(r.id);
      if (clash)
        throw new Error(
          `clip id "${r.id}" is in both ${owner.get(clash)?.dir} and ${part.dir}; packs must not share clip ids`,
        );
      byIdMap.set(r.id, r);
      owner.set(r, part);
    }
  }
  const partOf = (r: ClipRecord): Dataset => {
    const part = owner.get(r);
    if (!part) throw new Error(`clip ${r.id} is not a record of this dataset (${parts.map((p) => p.dir).join(', ')})`);
    return part;
  };
  const byId = (id: string): ClipRecord => {
    const r = byIdMap.get(id);
    if (!r)
      throw new Error(
        `unknown clip id "${id}" in packs ${parts.map((p) => p.packs[0].name).join(', ')}; nearest ids: ${nearestIds(id, byIdMap.keys()).join(', ')}`,
      );
    return r;
  };
  return assembleDataset({
    dir: parts[0].dir,
    packs: parts.flatMap((p) => p.packs),
    records: parts.flatMap((p) => p.records),
    // Each index's bytes, one after another: its hash changes when any pack's index does.
    indexBytes: Buffer.concat(parts.map((p) => p.indexBytes)),
    byId,
    packOf: (r) => partOf(r).packOf(r),
    hasRotations: (r) => partOf(r).hasRotations(r),
    positionsMm: (r) => partOf(r).positionsMm(r),
    rotationsF16: (r) => partOf(r).rotationsF16(r),
    rotations: (r) => partOf(r).rotations(r),
  });
}

/**
 * Opens packed motion data: one folder, or several given as a list (or one string with the folders separated by
 * commas or the platform's path delimiter, as CHARADES_DATA may give them). Validates every index and binary size.
 */
export function openDataset(dirOrDirs: string | readonly string[] = defaultDataDir(), opts: OpenOptions = {}): Dataset {
  const dirs = typeof dirOrDirs === 'string' ? splitDataDirs(dirOrDirs) : [...dirOrDirs];
  if (dirs.length === 0) throw new Error('no motion data folder given');
  const seen = new Set<string>();
  for (const d of dirs) {
    const key = resolve(d);
    if (seen.has(key)) throw new Error(`motion data folder ${d} is listed twice`);
    seen.add(key);
  }
  return dirs.length === 1 ? openPack(dirs[0], opts) : mergePacks(dirs.map((d) => openPack(d, opts)));
}

/**
 * Writes the given clips as a packed dataset of their own in `outDir` (records renumbered, bytes copied),
 * e.g. a small fixture or a licence-filtered subset. Returns the new records.
 */
export function writePackedSubset(ds: Dataset, records: readonly ClipRecord[], outDir: string): ClipRecord[] {
  if (records.length === 0) throw new Error('writePackedSubset: no clips given');
  const frames = records.reduce((s, r) => s + r.num_frames, 0);
  // One subset is one pack: it keeps rotations only when every clip has them.
  const withRotations = records.every((r) => ds.hasRotations(r));
  const positions = new Int16Array(frames * NUM_JOINTS * 3);
  const rotations = withRotations ? new Uint16Array(frames * NUM_JOINTS * 4) : undefined;
  const out: ClipRecord[] = [];
  let offset = 0;
  for (const r of records) {
    positions.set(ds.positionsMm(r), offset * NUM_JOINTS * 3);
    rotations?.set(ds.rotationsF16(r), offset * NUM_JOINTS * 4);
    out.push({
      ...r,
      frame_offset: offset,
      pos_byte_offset: offset * POSITION_FRAME_BYTES,
      rot_byte_offset: rotations ? offset * ROTATION_FRAME_BYTES : null,
      rot_byte_length: rotations ? r.num_frames * ROTATION_FRAME_BYTES : null,
    });
    offset += r.num_frames;
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, INDEX_FILE), out.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(outDir, POSITIONS_FILE), new Uint8Array(positions.buffer));
  if (rotations) writeFileSync(join(outDir, ROTATIONS_FILE), new Uint8Array(rotations.buffer));
  return out;
}
