/**
 * BVH reading and writing. The reader takes any hierarchy (3 or 6 or any channels per joint, any
 * rotation order, position channels on any joint, End Sites, CRLF, tabs, scientific notation) and
 * reports malformed files with the file name and line. The writer emits our 22-joint skeleton.
 */
import { readFileSync } from 'node:fs';
import type { Motion } from './contracts.js';
import {
  cross3,
  dot3,
  normalize3,
  forwardKinematics,
  eulerFromQuat,
  quatAboutAxis,
  quatMultiply,
  quatNlerp,
  quatNormalize,
  quatRotate,
  rotationsFromJoints,
  EULER_ORDERS,
} from './kinematics.js';
import type { EulerOrder, Quat, Vec3 } from './kinematics.js';
import { JOINT_NAMES, NUM_JOINTS, PARENTS } from './skeleton.js';

export const BVH_CHANNELS = ['Xposition', 'Yposition', 'Zposition', 'Xrotation', 'Yrotation', 'Zrotation'] as const;
export type BvhChannel = (typeof BVH_CHANNELS)[number];

export interface BvhJoint {
  name: string;
  /** Index of the parent joint in `BvhClip.joints`, −1 for the root. */
  parent: number;
  offset: Vec3;
  channels: BvhChannel[];
  /** Column of this joint's first channel in a motion line. */
  channelStart: number;
  /** Offset of the End Site below this joint, if it has one. */
  endSite: Vec3 | null;
}

export interface BvhClip {
  /** Where the text came from, for error messages. */
  file: string;
  joints: BvhJoint[];
  numFrames: number;
  frameTime: number;
  channelsPerFrame: number;
  /** Channel values, numFrames × channelsPerFrame, in file order (positions in file units, angles in degrees). */
  values: Float64Array;
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

interface Token {
  text: string;
  line: number;
}

/** Reads a .bvh file; errors name the file (and the line for malformed content). */
export function readBvhFile(path: string): BvhClip {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${(err as Error).message})`, {
      cause: err,
    });
  }
  return parseBvh(text, path);
}

/** Parses BVH text. `file` is only used in error messages. */
export function parseBvh(text: string, file = '<bvh>'): BvhClip {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const fail = (line: number, message: string): never => {
    throw new Error(`${file}:${line}: ${message}`);
  };
  if (!lines.some((l) => l.trim() !== '')) fail(1, 'the file is empty');
  const motionLine = lines.findIndex((l) => l.trim() === 'MOTION' || l.trim().startsWith('MOTION'));
  const headerLines = motionLine < 0 ? lines : lines.slice(0, motionLine);
  const tokens: Token[] = [];
  headerLines.forEach((l, i) => {
    for (const t of l.trim().split(/\s+/)) if (t) tokens.push({ text: t, line: i + 1 });
  });
  const hierarchy = parseHierarchy(tokens, fail);
  if (motionLine < 0) fail(lines.length, 'no MOTION section after the HIERARCHY');
  const motion = parseMotion(lines, motionLine, hierarchy.channelsPerFrame, fail);
  return { file, joints: hierarchy.joints, channelsPerFrame: hierarchy.channelsPerFrame, ...motion };
}

function parseHierarchy(
  tokens: Token[],
  fail: (line: number, message: string) => never,
): { joints: BvhJoint[]; channelsPerFrame: number } {
  let i = 0;
  const lastLine = tokens.length ? tokens[tokens.length - 1].line : 1;
  const next = (what: string): Token => {
    const t = tokens[i++];
    if (!t) fail(lastLine, `unexpected end of the HIERARCHY: expected ${what}`);
    return t;
  };
  const expect = (word: string): Token => {
    const t = next(`"${word}"`);
    if (t.text !== word) fail(t.line, `expected "${word}", found "${t.text}"`);
    return t;
  };
  const number = (what: string): number => {
    const t = next(what);
    if (!NUMBER_RE.test(t.text) || !Number.isFinite(Number(t.text)))
      fail(t.line, `expected a number for ${what}, found "${t.text}"`);
    return Number(t.text);
  };
  const vec = (what: string): Vec3 => [number(`${what} x`), number(`${what} y`), number(`${what} z`)];

  const first = next('"HIERARCHY"');
  if (first.text !== 'HIERARCHY')
    fail(first.line, `not a BVH file: expected "HIERARCHY" at the start, found "${first.text.slice(0, 40)}"`);
  const joints: BvhJoint[] = [];
  let channelsPerFrame = 0;
  const names = new Set<string>();

  const parseJoint = (parent: number): void => {
    const nameTok = next('a joint name');
    const name = nameTok.text;
    if (names.has(name)) fail(nameTok.line, `joint "${name}" is defined twice`);
    names.add(name);
    expect('{');
    expect('OFFSET');
    const offset = vec(`the OFFSET of "${name}"`);
    const channels: BvhChannel[] = [];
    if (tokens[i]?.text === 'CHANNELS') {
      i++;
      const countTok = tokens[i];
      const count = number(`the CHANNELS count of "${name}"`);
      if (!Number.isInteger(count) || count < 0 || count > 6)
        fail(countTok.line, `joint "${name}": CHANNELS count must be 0–6, got ${countTok.text}`);
      for (let c = 0; c < count; c++) {
        const ch = next(`channel ${c + 1} of "${name}"`);
        if (!(BVH_CHANNELS as readonly string[]).includes(ch.text)) {
          fail(ch.line, `joint "${name}": unknown channel "${ch.text}" (expected one of ${BVH_CHANNELS.join(', ')})`);
        }
        if (channels.includes(ch.text as BvhChannel))
          fail(ch.line, `joint "${name}": channel "${ch.text}" listed twice`);
        channels.push(ch.text as BvhChannel);
      }
    }
    const index = joints.length;
    joints.push({ name, parent, offset, channels, channelStart: channelsPerFrame, endSite: null });
    channelsPerFrame += channels.length;
    for (;;) {
      const t = next(`"JOINT", "End Site" or "}" in "${name}"`);
      if (t.text === '}') return;
      if (t.text === 'JOINT') parseJoint(index);
      else if (t.text === 'End') {
        expect('Site');
        expect('{');
        expect('OFFSET');
        joints[index].endSite = vec(`the End Site OFFSET of "${name}"`);
        expect('}');
      } else fail(t.line, `expected "JOINT", "End Site" or "}" in "${name}", found "${t.text}"`);
    }
  };

  expect('ROOT');
  parseJoint(-1);
  if (i < tokens.length)
    fail(tokens[i].line, `unexpected "${tokens[i].text}" after the root joint (only one ROOT is supported)`);
  return { joints, channelsPerFrame };
}

function parseMotion(
  lines: string[],
  motionLine: number,
  channelsPerFrame: number,
  fail: (line: number, message: string) => never,
): { numFrames: number; frameTime: number; values: Float64Array } {
  let ln = motionLine + 1;
  const skipBlank = () => {
    while (ln < lines.length && lines[ln].trim() === '') ln++;
  };
  const header = (label: RegExp, what: string): number => {
    skipBlank();
    const raw = lines[ln]?.trim() ?? '';
    const m = label.exec(raw);
    if (!m) fail(ln + 1, `expected "${what} <number>", found "${raw.slice(0, 40)}"`);
    const value = m![1];
    if (!NUMBER_RE.test(value)) fail(ln + 1, `"${what}" must be a number, found "${value}"`);
    ln++;
    return Number(value);
  };
  const numFrames = header(/^Frames:\s*(\S*)\s*$/, 'Frames:');
  if (!Number.isInteger(numFrames) || numFrames < 0) fail(ln, `"Frames:" must be a whole number ≥ 0, got ${numFrames}`);
  const frameTime = header(/^Frame Time:\s*(\S*)\s*$/, 'Frame Time:');
  if (!(frameTime > 0)) fail(ln, `"Frame Time:" must be positive, got ${frameTime}`);
  const values = new Float64Array(numFrames * channelsPerFrame);
  let frame = 0;
  for (; ln < lines.length; ln++) {
    const raw = lines[ln].trim();
    if (raw === '') continue;
    if (frame >= numFrames) {
      const extra = lines.slice(ln).filter((l) => l.trim() !== '').length;
      fail(
        ln + 1,
        `frame count mismatch: the header says ${numFrames} frames, but ${numFrames + extra} motion lines follow`,
      );
    }
    const parts = raw.split(/\s+/);
    if (parts.length !== channelsPerFrame) {
      const kind = parts.length < channelsPerFrame ? 'truncated motion line' : 'too many values on a motion line';
      fail(ln + 1, `${kind}: expected ${channelsPerFrame} values (one per channel), got ${parts.length}`);
    }
    for (let c = 0; c < channelsPerFrame; c++) {
      if (!NUMBER_RE.test(parts[c])) fail(ln + 1, `value ${c + 1} is not a number: "${parts[c].slice(0, 40)}"`);
      const v = Number(parts[c]);
      if (!Number.isFinite(v)) fail(ln + 1, `value ${c + 1} is out of range: "${parts[c].slice(0, 40)}"`);
      values[frame * channelsPerFrame + c] = v;
    }
    frame++;
  }
  if (frame < numFrames)
    fail(
      lines.length,
      `frame count mismatch: the header says ${numFrames} frames, but only ${frame} motion lines follow (truncated file?)`,
    );
  return { numFrames, frameTime, values };
}

// ---------------------------------------------------------------- poses

/** Local rotation (quaternion) and translation of every joint at one frame. */
export interface BvhPose {
  rotations: Quat[];
  translations: Vec3[];
}

const AXIS: Record<string, 0 | 1 | 2> = { X: 0, Y: 1, Z: 2 };

/** A joint's local transform at integer frame `frame`: position channels replace the OFFSET, rotations compose in channel order. */
export function bvhPoseAt(clip: BvhClip, frame: number): BvhPose {
  const row = frame * clip.channelsPerFrame;
  const rotations: Quat[] = [];
  const translations: Vec3[] = [];
  for (const joint of clip.joints) {
    let q: Quat = [1, 0, 0, 0];
    const tr: Vec3 = [joint.offset[0], joint.offset[1], joint.offset[2]];
    joint.channels.forEach((ch, c) => {
      const v = clip.values[row + joint.channelStart + c];
      const axis = AXIS[ch[0]];
      if (ch.endsWith('position')) tr[axis] = v;
      else q = quatMultiply(q, quatAboutAxis(axis, v));
    });
    rotations.push(quatNormalize(q));
    translations.push(tr);
  }
  return { rotations, translations };
}

/** The pose at a fractional frame: rotations by nlerp, translations linearly, between the two nearest frames. */
export function bvhPoseAtTime(clip: BvhClip, frame: number): BvhPose {
  const f0 = Math.max(0, Math.min(clip.numFrames - 1, Math.floor(frame)));
  const f1 = Math.min(clip.numFrames - 1, f0 + 1);
  const w = Math.max(0, Math.min(1, frame - f0));
  const a = bvhPoseAt(clip, f0);
  if (w < 1e-9 || f1 === f0) return a;
  const b = bvhPoseAt(clip, f1);
  return {
    rotations: a.rotations.map((q, j) => quatNlerp(q, b.rotations[j], w)),
    translations: a.translations.map((p, j) => [0, 1, 2].map((k) => p[k] + (b.translations[j][k] - p[k]) * w) as Vec3),
  };
}

function globalPositionsOfPose(clip: BvhClip, pose: BvhPose, out: Float64Array, at: number): void {
  const world: Quat[] = [];
  clip.joints.forEach((joint, j) => {
    const p = joint.parent;
    if (p < 0) {
      world.push(pose.rotations[j]);
      out.set(pose.translations[j], at + j * 3);
      return;
    }
    const o = quatRotate(world[p], pose.translations[j]);
    for (let k = 0; k < 3; k++) out[at + j * 3 + k] = out[at + p * 3 + k] + o[k];
    world.push(quatMultiply(world[p], pose.rotations[j]));
  });
}

/** Source frame rate of a clip; "Frame Time: 0.0333333" is rounded in the file, so it snaps to the whole rate (30). */
export function bvhFps(clip: BvhClip): number {
  const fps = 1 / clip.frameTime;
  const whole = Math.round(fps);
  return Math.abs(fps - whole) < 1e-4 * fps ? whole : fps;
}

/**
 * Global joint positions (BVH units), numFrames × joints × 3. With `fps`, the clip is resampled first:
 * local rotations by nlerp and translations linearly, then FK, so fast limbs keep their arcs.
 */
export function bvhGlobalPositions(
  clip: BvhClip,
  fps?: number,
): { positions: Float64Array; numFrames: number; fps: number } {
  const J = clip.joints.length;
  const times = sampleTimes(clip, fps);
  const positions = new Float64Array(times.length * J * 3);
  times.forEach((f, t) => globalPositionsOfPose(clip, bvhPoseAtTime(clip, f), positions, t * J * 3));
  return { positions, numFrames: times.length, fps: fps ?? bvhFps(clip) };
}

/** Source frame positions (fractional) of each output frame: frame k at k/fps seconds, up to the clip's duration. */
export function sampleTimes(clip: BvhClip, fps?: number): number[] {
  const srcFps = bvhFps(clip);
  if (fps === undefined || Math.abs(fps - srcFps) < 1e-6 * srcFps)
    return Array.from({ length: clip.numFrames }, (_, i) => i);
  if (!(fps > 0)) throw new Error(`${clip.file}: the target frame rate must be positive, got ${fps}`);
  // floor(N · fps / srcFps) frames, as the dataset converter did (30 → 20 fps: 138 → 92 frames).
  const count = clip.numFrames === 0 ? 0 : Math.max(1, Math.floor((clip.numFrames * fps) / srcFps + 1e-6));
  return Array.from({ length: count }, (_, k) => Math.min(clip.numFrames - 1, (k * srcFps) / fps));
}

// ---------------------------------------------------------------- writer

export type BvhScale = 'cm' | 'm';

export interface WriteBvhOptions {
  /** Rotation channel order of every joint (default ZXY, as most mocap BVH). */
  rotationOrder?: EulerOrder;
  /** Units of OFFSETs and root positions (default cm, which Blender's importer and most DCC tools assume). */
  scale?: BvhScale;
  /** Rest offsets (metres, 22×3) to write; default: the motion's, else estimated from its joints. */
  restOffsets?: readonly (readonly number[])[];
  /** Decimal places of the numbers written (default 5). */
  precision?: number;
}

/** How far End Sites stick out past the leaf joints (metres), so tools draw the head, toes and hands. */
const END_SITE_LENGTH: Partial<Record<number, number>> = { 10: 0.05, 11: 0.05, 15: 0.1, 20: 0.08, 21: 0.08 };

/**
 * Rest offsets (metres) that fit a motion's own body: bone lengths are the medians over its frames; the
 * directions are the T-pose's (Bandai-Namco) for chains, and for the children of the pelvis and spine3
 * the median offset in the frame spanned by their left/right pair and their spine child.
 */
export function estimateRestOffsets(joints: Float32Array, numFrames: number): Vec3[] {
  if (numFrames < 1) throw new Error('estimateRestOffsets: the motion has no frames');
  const J = NUM_JOINTS;
  const at = (t: number, j: number): Vec3 => [
    joints[(t * J + j) * 3],
    joints[(t * J + j) * 3 + 1],
    joints[(t * J + j) * 3 + 2],
  ];
  const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const step = Math.max(1, Math.floor(numFrames / 200));
  const frames: number[] = [];
  for (let t = 0; t < numFrames; t += step) frames.push(t);
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const offsets: Vec3[] = REST_DIRECTIONS.map((dir, j) => {
    if (j === 0) return [0, 0, 0];
    const len = median(frames.map((t) => Math.hypot(...sub(at(t, j), at(t, PARENTS[j])))));
    return [dir[0] * len, dir[1] * len, dir[2] * len];
  });
  for (const [hub, left, right, up] of [
    [0, 1, 2, 3],
    [9, 13, 14, 12],
  ] as const) {
    const local = frames.map((t) => {
      const x = normalize3(sub(at(t, left), at(t, right))) ?? [1, 0, 0];
      const z = normalize3(cross3(x, sub(at(t, up), at(t, hub)))) ?? [0, 0, 1];
      const y = cross3(z, x);
      return [left, right, up].map((c) => {
        const d = sub(at(t, c), at(t, hub));
        return [dot3(d, x), dot3(d, y), dot3(d, z)] as Vec3;
      });
    });
    [left, right, up].forEach((c, i) => {
      offsets[c] = [0, 1, 2].map((k) => median(local.map((l) => l[i][k]))) as Vec3;
    });
  }
  return offsets;
}

/** Unit T-pose bone directions (from the Bandai-Namco rest offsets): legs down, spine up, arms along ±X, feet forward. */
const REST_DIRECTIONS: readonly Vec3[] = [
  [0, 0, 0],
  [0.947, -0.321, 0],
  [-0.947, -0.321, 0],
  [0, 1, 0],
  [0, -1, 0],
  [0, -1, 0],
  [0, 1, 0],
  [0, -1, 0],
  [0, -1, 0],
  [0, 1, 0],
  [0, -0.371, 0.928],
  [0, -0.371, 0.928],
  [0, 1, 0],
  [0.999, 0, -0.049],
  [-0.999, 0, -0.049],
  [0, 1, 0],
  [1, 0, 0],
  [-1, 0, 0],
  [1, 0, 0],
  [-1, 0, 0],
  [1, 0, 0],
  [-1, 0, 0],
];

/** The rest offsets and rotations a motion is written with (solving rotations from the joints when it has none). */
export function bvhExportPose(
  motion: Motion,
  restOffsets?: readonly (readonly number[])[],
): { restOffsets: readonly (readonly number[])[]; rotations: Float32Array } {
  if (restOffsets && restOffsets.length !== NUM_JOINTS)
    throw new Error(`writeBvh: expected ${NUM_JOINTS} rest offsets, got ${restOffsets.length}`);
  if (motion.rotations && (restOffsets ?? motion.restOffsets)) {
    const offsets = restOffsets ?? motion.restOffsets!;
    return { restOffsets: offsets, rotations: motion.rotations };
  }
  const offsets = restOffsets ?? motion.restOffsets ?? estimateRestOffsets(motion.joints, motion.numFrames);
  return { restOffsets: offsets, rotations: rotationsFromJoints(motion.joints, motion.numFrames, offsets) };
}

/**
 * A BVH file of `motion` on our 22-joint skeleton (joint names as in JOINT_NAMES): root with 6 channels,
 * the others with 3 rotation channels; frame time 1/fps. Motions without rotations get them solved from
 * the joints (rotationsFromJoints), with rest offsets estimated from the joints unless given.
 */
export function writeBvh(motion: Motion, opts: WriteBvhOptions = {}): string {
  const order = opts.rotationOrder ?? 'ZXY';
  if (!EULER_ORDERS.includes(order))
    throw new Error(`writeBvh: unknown rotation order "${order}"; use one of ${EULER_ORDERS.join(', ')}`);
  const scale = opts.scale ?? 'cm';
  if (scale !== 'cm' && scale !== 'm') throw new Error(`writeBvh: scale must be "cm" or "m", got "${String(scale)}"`);
  const unit = scale === 'cm' ? 100 : 1;
  const digits = opts.precision ?? 5;
  const fmt = (x: number): string => {
    const s = x.toFixed(digits);
    return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
  };
  const { restOffsets, rotations } = bvhExportPose(motion, opts.restOffsets);
  const rotChannels = order
    .split('')
    .map((a) => `${a}rotation`)
    .join(' ');
  const children = PARENTS.map((_, j) => PARENTS.flatMap((p, c) => (p === j ? [c] : [])));
  // The root's OFFSET is zero and its position channels are absolute: readers disagree on whether the root
  // OFFSET adds to those channels (three's BVHLoader adds it, Blender's importer does not), and zero is read
  // the same way by both.
  const out: string[] = ['HIERARCHY'];
  // Motion lines list channels in the order joints appear in the hierarchy (depth first), not in joint index order.
  const fileOrder: number[] = [];
  const writeJoint = (j: number, depth: number): void => {
    fileOrder.push(j);
    const pad = '  '.repeat(depth);
    const offset = j === 0 ? [0, 0, 0] : restOffsets[j];
    out.push(`${pad}${j === 0 ? 'ROOT' : 'JOINT'} ${JOINT_NAMES[j]}`, `${pad}{`);
    out.push(`${pad}  OFFSET ${offset.map((v) => fmt(v * unit)).join(' ')}`);
    out.push(`${pad}  CHANNELS ${j === 0 ? `6 Xposition Yposition Zposition ${rotChannels}` : `3 ${rotChannels}`}`);
    if (children[j].length === 0) {
      const o = restOffsets[j];
      const n = Math.hypot(o[0], o[1], o[2]) || 1;
      const len = END_SITE_LENGTH[j] ?? 0.05;
      out.push(
        `${pad}  End Site`,
        `${pad}  {`,
        `${pad}    OFFSET ${[0, 1, 2].map((k) => fmt((o[k] / n) * len * unit)).join(' ')}`,
        `${pad}  }`,
      );
    }
    for (const c of children[j]) writeJoint(c, depth + 1);
    out.push(`${pad}}`);
  };
  writeJoint(0, 0);
  out.push('MOTION', `Frames: ${motion.numFrames}`, `Frame Time: ${(1 / motion.fps).toPrecision(8)}`);
  const angleDigits = Math.max(digits, 4);
  const fmtAngle = (x: number): string => {
    const s = x.toFixed(angleDigits);
    return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
  };
  for (let t = 0; t < motion.numFrames; t++) {
    const row: string[] = [];
    for (let k = 0; k < 3; k++) row.push(fmt(motion.joints[t * NUM_JOINTS * 3 + k] * unit));
    for (const j of fileOrder) {
      const q = rotations.subarray((t * NUM_JOINTS + j) * 4, (t * NUM_JOINTS + j) * 4 + 4);
      for (const a of eulerFromQuat(q, order)) row.push(fmtAngle(a));
    }
    out.push(row.join(' '));
  }
  return `${out.join('\n')}\n`;
}

/** Joint positions (metres, T×22×3) that a written BVH will show: FK of the export rotations. */
export function bvhExportPositions(motion: Motion, restOffsets?: readonly (readonly number[])[]): Float32Array {
  const pose = bvhExportPose(motion, restOffsets);
  const root = new Float32Array(motion.numFrames * 3);
  for (let t = 0; t < motion.numFrames; t++)
    root.set(motion.joints.subarray(t * NUM_JOINTS * 3, t * NUM_JOINTS * 3 + 3), t * 3);
  return forwardKinematics(pose.rotations, root, pose.restOffsets, PARENTS);
}

/**
 * For a clip on our 22-joint skeleton (a file writeBvh produced, or one like it: same joint names and
 * parents, in any order), the clip's joint index of each of our joints; otherwise null.
 */
export function charadesJointOrder(clip: BvhClip): number[] | null {
  if (clip.joints.length !== NUM_JOINTS) return null;
  const order = JOINT_NAMES.map((name) => clip.joints.findIndex((j) => j.name === name));
  if (order.some((i) => i < 0)) return null;
  const parentsMatch = order.every((ci, j) => {
    const p = clip.joints[ci].parent;
    return PARENTS[j] < 0 ? p < 0 : p === order[PARENTS[j]];
  });
  return parentsMatch ? order : null;
}
