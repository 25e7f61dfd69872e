/**
 * Motion files: loading and saving BVH, HumanML3D-style NPY and the Charades JSON format
 * (`charades-motion/1`). The format comes from the content when it is recognisable (so a wrong
 * extension still loads), else from the extension. Every error names the file.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { z } from 'zod';
import type { Motion } from './contracts.js';
import { MotionSegmentSchema, ProvenanceSchema, makeMotion } from './contracts.js';
import { parseBvh, writeBvh } from './bvh.js';
import type { WriteBvhOptions } from './bvh.js';
import { NPY_MAGIC, findNonFinite, motionFromNpy, motionToNpy, parseNpy } from './npy.js';
import { retargetBvh } from './retarget.js';
import type { JointMap } from './retarget.js';
import { NUM_JOINTS } from './skeleton.js';
import { resampleMotion } from './transforms.js';

export const MOTION_FORMATS = ['bvh', 'npy', 'json'] as const;
export type MotionFormat = (typeof MOTION_FORMATS)[number];
export const MOTION_JSON_FORMAT = 'charades-motion/1';

/** The format an extension stands for, or null. */
export function formatFromExtension(path: string): MotionFormat | null {
  const ext = extname(path).slice(1).toLowerCase();
  return (MOTION_FORMATS as readonly string[]).includes(ext) ? (ext as MotionFormat) : null;
}

/** The format the bytes look like (NPY magic, "HIERARCHY", a JSON object), or null. */
export function sniffFormat(bytes: Uint8Array): MotionFormat | null {
  if (bytes.length >= 6 && NPY_MAGIC.equals(Buffer.from(bytes.subarray(0, 6)))) return 'npy';
  const head = Buffer.from(bytes.subarray(0, 64))
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (head.startsWith('HIERARCHY')) return 'bvh';
  if (head.startsWith('{')) return 'json';
  return null;
}

// ---------------------------------------------------------------- JSON

const vec3 = z.tuple([z.number(), z.number(), z.number()]);

const MotionFileSchema = z.object({
  format: z.literal(MOTION_JSON_FORMAT),
  fps: z.number().positive(),
  numFrames: z.number().int().nonnegative(),
  joints: z.array(z.unknown()),
  rotations: z.array(z.unknown()).optional(),
  restOffsets: z.array(vec3).length(NUM_JOINTS).optional(),
  segments: z.array(MotionSegmentSchema).default([]),
  provenance: ProvenanceSchema.default({ source: 'unknown' }),
});

/** Flattens a T×22×width nested array, checking every level; the message points at the first bad entry. */
function flattenFrames(
  value: unknown[],
  numFrames: number,
  width: number,
  field: string,
  file: string,
): Float32Array<ArrayBuffer> {
  if (value.length !== numFrames)
    throw new Error(`${file}: "${field}" has ${value.length} frames, but numFrames is ${numFrames}`);
  const out = new Float32Array(numFrames * NUM_JOINTS * width);
  value.forEach((frame, t) => {
    if (!Array.isArray(frame)) throw new Error(`${file}: ${field}[${t}] must be a list of ${NUM_JOINTS} joints`);
    if (frame.length !== NUM_JOINTS)
      throw new Error(`${file}: ${field}[${t}]: expected ${NUM_JOINTS} joints, got ${frame.length}`);
    frame.forEach((joint: unknown, j: number) => {
      if (!Array.isArray(joint) || joint.length !== width)
        throw new Error(`${file}: ${field}[${t}][${j}] must be ${width} numbers`);
      joint.forEach((v: unknown, k: number) => {
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw new Error(`${file}: ${field}[${t}][${j}][${k}] is not a finite number: ${JSON.stringify(v)}`);
        out[(t * NUM_JOINTS + j) * width + k] = v;
      });
    });
  });
  return out;
}

/** Parses a Charades JSON motion. `file` is only used in error messages. */
export function parseMotionJson(text: string, file = '<json>'): Motion {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = MotionFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join('.') || 'the top level';
    throw new Error(`${file}: not a ${MOTION_JSON_FORMAT} file: ${where}: ${issue.message}`);
  }
  const m = parsed.data;
  const joints = flattenFrames(m.joints, m.numFrames, 3, 'joints', file);
  const rotations = m.rotations && flattenFrames(m.rotations, m.numFrames, 4, 'rotations', file);
  try {
    return makeMotion({
      fps: m.fps,
      numFrames: m.numFrames,
      joints,
      rotations,
      restOffsets: m.restOffsets,
      segments: m.segments,
      provenance: m.provenance,
    });
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function nest(values: Float32Array, numFrames: number, width: number, digits: number): number[][][] {
  return Array.from({ length: numFrames }, (_, t) =>
    Array.from({ length: NUM_JOINTS }, (_, j) =>
      Array.from({ length: width }, (_, k) => roundTo(values[(t * NUM_JOINTS + j) * width + k], digits)),
    ),
  );
}

/** The Charades JSON text of a motion (positions to 0.001 mm, rotations to 1e-6). */
export function motionToJson(motion: Motion): string {
  const doc = {
    format: MOTION_JSON_FORMAT,
    fps: motion.fps,
    numFrames: motion.numFrames,
    joints: nest(motion.joints, motion.numFrames, 3, 6),
    ...(motion.rotations ? { rotations: nest(motion.rotations, motion.numFrames, 4, 6) } : {}),
    ...(motion.restOffsets ? { restOffsets: motion.restOffsets } : {}),
    segments: motion.segments,
    provenance: motion.provenance,
  };
  return `${JSON.stringify(doc)}\n`;
}

// ---------------------------------------------------------------- files

export interface LoadMotionOptions {
  /** Frame rate of the result (default: BVH → 20 fps, NPY → 20 fps, JSON → as stored). */
  fps?: number;
  /** Joint map for BVH files (default: detected from the joint names). */
  map?: JointMap;
  /** Metres per BVH unit (default: the map's, else guessed). */
  metresPerUnit?: number;
}

function readBytes(path: string): Buffer {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (stat.isDirectory()) throw new Error(`${path}: is a directory, not a motion file`);
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new Error(`${path}: the file is empty`);
  return bytes;
}

/** Loads a motion from .bvh (retargeted onto our 22 joints), .npy (T, 22, 3) or Charades .json. */
export function loadMotionFile(path: string, opts: LoadMotionOptions = {}): Motion {
  const bytes = readBytes(path);
  const format = sniffFormat(bytes) ?? formatFromExtension(path);
  if (!format) {
    throw new Error(
      `${path}: unknown motion format: the content is not BVH, NPY or JSON and the extension is not .bvh, .npy or .json`,
    );
  }
  let motion: Motion;
  if (format === 'bvh') {
    motion = retargetBvh(parseBvh(bytes.toString('utf8'), path), {
      fps: opts.fps,
      map: opts.map,
      metresPerUnit: opts.metresPerUnit,
    });
  } else {
    motion =
      format === 'npy' ? motionFromNpy(parseNpy(bytes, path), path) : parseMotionJson(bytes.toString('utf8'), path);
    if (opts.fps !== undefined && opts.fps !== motion.fps) motion = resampleMotion(motion, opts.fps);
  }
  const bad = findNonFinite(motion.joints);
  if (bad) throw new Error(`${path}: joint positions contain ${bad}`);
  if (motion.numFrames === 0) throw new Error(`${path}: the motion has no frames`);
  return motion;
}

export interface SaveMotionOptions extends WriteBvhOptions {
  /** Create missing parent folders (default true). */
  mkdir?: boolean;
}

/** Saves a motion as BVH, NPY or JSON (format from the argument, else from the extension). */
export function saveMotionFile(
  motion: Motion,
  path: string,
  format?: MotionFormat,
  opts: SaveMotionOptions = {},
): MotionFormat {
  const fmt = format ?? formatFromExtension(path);
  if (!fmt) throw new Error(`${path}: cannot tell the output format from the extension; use .bvh, .npy or .json`);
  if (!(MOTION_FORMATS as readonly string[]).includes(fmt))
    throw new Error(`${path}: unknown motion format "${fmt}"; use one of ${MOTION_FORMATS.join(', ')}`);
  const bad = findNonFinite(motion.joints);
  if (bad) throw new Error(`${path}: refusing to save a motion whose joint positions contain ${bad}`);
  const content = fmt === 'bvh' ? writeBvh(motion, opts) : fmt === 'npy' ? motionToNpy(motion) : motionToJson(motion);
  try {
    if (opts.mkdir !== false) mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  } catch (err) {
    throw new Error(`${path}: cannot write (${(err as Error).message})`, { cause: err });
  }
  return fmt;
}
