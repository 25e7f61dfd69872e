/**
 * What a training job trains on. The trainer reads only a features cache and an embedding table
 * (docs/data-contract.md), and the one featurizer lives in TypeScript, so every `--data` folder is turned into
 * those here, never in Python: packed Charades data is used as it is; BVH folders and HumanML3D folders are read
 * with src/motion's readers (BVH retargeting, .npy) into a packed dataset in the job folder; several folders are
 * merged into one. The packed dataset is also what the production evaluation reads its test split from.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import type { Motion } from '../../motion/contracts.js';
import {
  FEATURES_META,
  INDEX_FILE,
  NUM_JOINTS,
  POSITION_FRAME_BYTES,
  ROTATION_FRAME_BYTES,
  SPLITS,
  bvhExportPose,
  defaultDataDir,
  defaultFeatureCacheDir,
  encodeFloat16,
  featureCacheStaleReasons,
  labelText,
  mirrorSides,
  motionFromNpy,
  openDataset,
  readBvhFile,
  readFeatureCache,
  readNpyFile,
  buildEmbeddingTable,
  loadSentenceEncoder,
  requireDataDir,
  retargetBvh,
  writeEmbeddingTable,
  writeFeatureCache,
} from '../../motion/index.js';
import type { ClipRecord, SplitName } from '../../motion/index.js';

export type DataFormat = 'packed' | 'bvh' | 'humanml3d' | 'unknown';

const FPS = 20;
/** int16 millimetres hold ±32.7 m; anything farther is not a human clip in metres. */
const MAX_MM = 32767;
export const ANNOTATIONS_FILE = join('annotations', 'action-gpt-k4.jsonl');

function hasFileEnding(dir: string, ending: string, depth = 2): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    if (e.isFile() && e.name.toLowerCase().endsWith(ending)) return true;
    if (e.isDirectory() && depth > 0 && hasFileEnding(join(dir, e.name), ending, depth - 1)) return true;
  }
  return false;
}

export function detectDataFormat(dir: string): DataFormat {
  if (existsSync(join(dir, INDEX_FILE))) return 'packed';
  if (existsSync(join(dir, 'new_joints')) || hasFileEnding(dir, '.npy', 0)) return 'humanml3d';
  if (hasFileEnding(dir, '.bvh')) return 'bvh';
  return 'unknown';
}

export interface DataSource {
  dir: string;
  format: Exclude<DataFormat, 'unknown'>;
}

/** Checks `--data` folders when a job is enqueued, so a bad folder fails at once rather than in the worker. */
export function checkTrainingData(dirs: readonly string[]): string[] {
  return describeSources(dirs).map((s) => s.dir);
}

export function describeSources(dirs: readonly string[]): DataSource[] {
  const twice = dirs.find((d, i) => dirs.findIndex((e) => resolve(e) === resolve(d)) !== i);
  if (twice !== undefined) throw new Error(`--data ${twice}: given twice`);
  return dirs.map((d) => {
    const dir = resolve(d);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--data ${d}: no such folder`);
    const format = detectDataFormat(dir);
    if (format === 'unknown')
      throw new Error(`--data ${d}: not a motion data folder (no index.jsonl, no BVH files, no new_joints/*.npy)`);
    return { dir, format };
  });
}

// ---------------------------------------------------------------- reading clips

/** A clip ready to pack: positions in int16 mm and rotations as float16 bits, with its record minus offsets. */
interface PackableClip {
  record: Omit<
    ClipRecord,
    'frame_offset' | 'pos_byte_offset' | 'pos_byte_length' | 'rot_byte_offset' | 'rot_byte_length'
  >;
  positionsMm: Int16Array;
  rotationsF16: Uint16Array;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

interface SourceClips {
  clips: PackableClip[];
  skipped: SkippedFile[];
  /** Action-GPT description lines carried over from packed sources. */
  annotations: string[];
}

function filesEndingIn(dir: string, ending: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.isFile() && e.name.toLowerCase().endsWith(ending)) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

/** A stable split from the id when the data brings none: 80 / 10 / 10. */
export function hashSplit(id: string): SplitName {
  const bucket = createHash('sha256').update(id).digest().readUInt32BE(0) % 100;
  return bucket < 80 ? 'train' : bucket < 90 ? 'val' : 'test';
}

/** Text lines of a HumanML3D texts/*.txt (`caption#tokens#start#end`) or a BVH side-car file. */
export interface CaptionLine {
  text: string;
  start: number;
  end: number;
}

export function parseCaptionLines(content: string): CaptionLine[] {
  return content
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [text, , start, end] = line.split('#');
      const s = Number(start);
      const e = Number(end);
      return { text: text.trim(), start: Number.isFinite(s) ? s : 0, end: Number.isFinite(e) ? e : 0 };
    })
    .filter((c) => c.text.length > 0);
}

/** Floor at y = 0 and the first root position over the origin, as the packed data is stored. */
function placeOnFloor(joints: Float32Array): {
  joints: Float32Array<ArrayBuffer>;
  originShift: [number, number, number];
  floorShift: number;
} {
  let minY = Infinity;
  for (let i = 1; i < joints.length; i += 3) minY = Math.min(minY, joints[i]);
  const shift: [number, number, number] = [-joints[0], -minY, -joints[2]];
  const out = new Float32Array(joints.length);
  for (let i = 0; i < joints.length; i += 3) {
    out[i] = joints[i] + shift[0];
    out[i + 1] = joints[i + 1] + shift[1];
    out[i + 2] = joints[i + 2] + shift[2];
  }
  return { joints: out, originShift: [shift[0], 0, shift[2]], floorShift: shift[1] };
}

interface ClipMeta {
  id: string;
  source: string;
  dataset: string;
  license: string;
  split: SplitName;
  texts: string[];
  textSource: string;
}

/** Packs a Motion (22 joints, 20 fps) with rotations solved from its joints when it has none. */
function packMotion(motion: Motion, meta: ClipMeta): PackableClip | string {
  if (motion.numFrames < 2) return `only ${motion.numFrames} frame(s); a clip needs at least 2`;
  const placed = placeOnFloor(motion.joints);
  const positionsMm = new Int16Array(placed.joints.length);
  for (let i = 0; i < placed.joints.length; i++) {
    const mm = Math.round(placed.joints[i] * 1000);
    if (!(Math.abs(mm) <= MAX_MM))
      return `a joint lies ${Math.abs(placed.joints[i]).toFixed(1)} m from the start (more than 32.7 m: wrong units?)`;
    positionsMm[i] = mm;
  }
  const pose = bvhExportPose({ ...motion, joints: placed.joints });
  return {
    record: {
      id: meta.id,
      source: meta.source,
      dataset: meta.dataset,
      license: meta.license,
      fps: FPS,
      num_frames: motion.numFrames,
      duration_s: motion.numFrames / FPS,
      split: meta.split,
      action_labels: [],
      style: '',
      texts: meta.texts,
      text_source: meta.textSource,
      rest_offsets_m: pose.restOffsets.map((o) => [o[0], o[1], o[2]] as [number, number, number]),
      origin_shift_m: placed.originShift,
      floor_shift_m: placed.floorShift,
    },
    positionsMm,
    rotationsF16: encodeFloat16(pose.rotations),
  };
}

function cropMotion(motion: Motion, start: number, end: number): Motion {
  const a = Math.max(0, Math.floor(start * FPS));
  const b = Math.min(motion.numFrames, Math.floor(end * FPS));
  const joints = motion.joints.slice(a * NUM_JOINTS * 3, b * NUM_JOINTS * 3);
  return { ...motion, numFrames: Math.max(0, b - a), joints, rotations: undefined, restOffsets: undefined };
}

function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'clip';
}

/** The words of a file name ("walk_happy-02.bvh" → "walk happy") for BVH files without a side-car text. */
function textFromFileName(file: string): string {
  return basename(file, extname(file)).replace(/[_-]+/g, ' ').replace(/\d+/g, ' ').replace(/\s+/g, ' ').trim();
}

function readBvhSource(dir: string, prefix: string): SourceClips {
  const out: SourceClips = { clips: [], skipped: [], annotations: [] };
  for (const file of filesEndingIn(dir, '.bvh')) {
    const rel = relative(dir, file);
    try {
      const motion = retargetBvh(readBvhFile(file), { fps: FPS });
      const sidecar = join(dirname(file), `${basename(file, extname(file))}.txt`);
      const captions = existsSync(sidecar) ? parseCaptionLines(readFileSync(sidecar, 'utf8')).map((c) => c.text) : [];
      const texts = captions.length ? captions : [textFromFileName(file)].filter(Boolean);
      if (texts.length === 0) throw new Error(`no text: add ${basename(sidecar)} with one description per line`);
      const id = `${prefix}${slug(rel.replace(/\.bvh$/i, ''))}`;
      const packed = packMotion(motion, {
        id,
        source: `bvh:${file}`,
        dataset: basename(dir),
        license: 'unknown',
        split: hashSplit(id),
        texts,
        textSource: captions.length ? 'sidecar' : 'file-name',
      });
      if (typeof packed === 'string') out.skipped.push({ file: rel, reason: packed });
      else out.clips.push(packed);
    } catch (err) {
      out.skipped.push({ file: rel, reason: firstLine((err as Error).message) });
    }
  }
  return out;
}

function readSplitFiles(dir: string): Map<string, SplitName> {
  const splits = new Map<string, SplitName>();
  for (const split of SPLITS) {
    const file = join(dir, `${split}.txt`);
    if (!existsSync(file)) continue;
    for (const id of readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean))
      splits.set(id, split);
  }
  return splits;
}

function readHumanMl3dSource(dir: string, prefix: string): SourceClips {
  const out: SourceClips = { clips: [], skipped: [], annotations: [] };
  const jointsDir = existsSync(join(dir, 'new_joints')) ? join(dir, 'new_joints') : dir;
  const textsDir = join(dir, 'texts');
  const splits = readSplitFiles(dir);
  const files = readdirSync(jointsDir)
    .filter((f) => f.toLowerCase().endsWith('.npy'))
    .sort();
  for (const name of files) {
    const rel = relative(dir, join(jointsDir, name));
    const id = basename(name, extname(name));
    try {
      const textFile = join(textsDir, `${id}.txt`);
      if (!existsSync(textFile)) throw new Error(`no texts/${id}.txt`);
      const captions = parseCaptionLines(readFileSync(textFile, 'utf8'));
      if (captions.length === 0) throw new Error(`texts/${id}.txt has no caption lines`);
      const motion = motionFromNpy(readNpyFile(join(jointsDir, name)), rel, FPS);
      const split = splits.get(id) ?? hashSplit(id);
      // HumanML3D captions with start/end seconds describe only that part of the clip: it becomes a clip of its own.
      const groups = new Map<string, CaptionLine[]>();
      for (const c of captions) {
        const whole = !(c.end > c.start) || (c.start <= 0 && c.end * FPS >= motion.numFrames);
        const key = whole ? '' : `${c.start}-${c.end}`;
        groups.set(key, [...(groups.get(key) ?? []), c]);
      }
      for (const [key, group] of groups) {
        const part = key ? cropMotion(motion, group[0].start, group[0].end) : motion;
        const clipId = `${prefix}${slug(id)}${key ? `_${slug(key)}` : ''}`;
        const packed = packMotion(part, {
          id: clipId,
          source: `humanml3d:${join(jointsDir, name)}${key ? `#${key}` : ''}`,
          dataset: basename(dir),
          license: 'unknown',
          split,
          texts: group.map((c) => c.text),
          textSource: 'humanml3d',
        });
        if (typeof packed === 'string') out.skipped.push({ file: `${rel}${key ? ` (${key} s)` : ''}`, reason: packed });
        else out.clips.push(packed);
      }
    } catch (err) {
      out.skipped.push({ file: rel, reason: firstLine((err as Error).message) });
    }
  }
  return out;
}

function readPackedSource(dir: string, prefix: string): SourceClips {
  const ds = openDataset(dir);
  const annotationsFile = join(dir, ANNOTATIONS_FILE);
  return {
    clips: ds.records.map((r) => {
      const {
        frame_offset: _f,
        pos_byte_offset: _po,
        pos_byte_length: _pl,
        rot_byte_offset: _ro,
        rot_byte_length: _rl,
        ...record
      } = r;
      return {
        record: { ...record, id: `${prefix}${r.id}` },
        positionsMm: ds.positionsMm(r).slice(),
        rotationsF16: ds.rotationsF16(r).slice(),
      };
    }),
    skipped: [],
    annotations: existsSync(annotationsFile)
      ? readFileSync(annotationsFile, 'utf8')
          .split('\n')
          .filter((l) => l.trim())
      : [],
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

const READERS: Record<DataSource['format'], (dir: string, prefix: string) => SourceClips> = {
  packed: readPackedSource,
  bvh: readBvhSource,
  humanml3d: readHumanMl3dSource,
};

// ---------------------------------------------------------------- writing the merged dataset

export interface ImportSummary {
  sources: { dir: string; format: DataSource['format']; clips: number; skipped: number }[];
  clips: number;
  frames: number;
  splits: Record<SplitName, number>;
  skipped: SkippedFile[];
}

function writePacked(clips: readonly PackableClip[], annotations: readonly string[], outDir: string): number {
  const frames = clips.reduce((s, c) => s + c.record.num_frames, 0);
  const positions = new Int16Array(frames * NUM_JOINTS * 3);
  const rotations = new Uint16Array(frames * NUM_JOINTS * 4);
  const lines: string[] = [];
  let offset = 0;
  for (const c of clips) {
    const n = c.record.num_frames;
    positions.set(c.positionsMm, offset * NUM_JOINTS * 3);
    rotations.set(c.rotationsF16, offset * NUM_JOINTS * 4);
    lines.push(
      JSON.stringify({
        ...c.record,
        frame_offset: offset,
        pos_byte_offset: offset * POSITION_FRAME_BYTES,
        pos_byte_length: n * POSITION_FRAME_BYTES,
        rot_byte_offset: offset * ROTATION_FRAME_BYTES,
        rot_byte_length: n * ROTATION_FRAME_BYTES,
      }),
    );
    offset += n;
  }
  mkdirSync(join(outDir, dirname(ANNOTATIONS_FILE)), { recursive: true });
  writeFileSync(join(outDir, 'positions_mm.i16'), new Uint8Array(positions.buffer));
  writeFileSync(join(outDir, 'rotations_quat.f16'), new Uint8Array(rotations.buffer));
  if (annotations.length) writeFileSync(join(outDir, ANNOTATIONS_FILE), `${annotations.join('\n')}\n`);
  // The index last: a folder without it is an unfinished import, never mistaken for data.
  writeFileSync(join(outDir, INDEX_FILE), `${lines.join('\n')}\n`);
  return frames;
}

function describeSkips(skipped: readonly SkippedFile[]): string {
  if (skipped.length === 0) return '';
  const shown = skipped
    .slice(0, 3)
    .map((s) => `${s.file}: ${s.reason}`)
    .join('; ');
  return `; skipped ${skipped.length} unreadable file(s) (${shown}${skipped.length > 3 ? '; …' : ''})`;
}

/**
 * Reads every source (a bad file is skipped and counted, never fatal) and writes one packed dataset into
 * `outDir`. Clip ids are prefixed with the source's number when several folders are merged, so they stay unique.
 */
export function importTrainingData(sources: readonly DataSource[], outDir: string): ImportSummary {
  const all: PackableClip[] = [];
  const annotations: string[] = [];
  const summary: ImportSummary = {
    sources: [],
    clips: 0,
    frames: 0,
    splits: { train: 0, val: 0, test: 0 },
    skipped: [],
  };
  sources.forEach((source, i) => {
    if (source.format !== 'packed' && !existsSync(source.dir)) throw new Error(`--data ${source.dir}: no such folder`);
    const read = READERS[source.format](source.dir, sources.length > 1 ? `s${i + 1}-` : '');
    if (read.clips.length === 0) {
      const why = read.skipped.length
        ? `all ${read.skipped.length} file(s) were unreadable${describeSkips(read.skipped)}`
        : 'it holds no clips';
      throw new Error(
        `--data ${source.dir}: no usable ${source.format === 'bvh' ? 'BVH' : source.format === 'humanml3d' ? 'HumanML3D' : 'packed'} clips: ${why}`,
      );
    }
    all.push(...read.clips);
    annotations.push(...read.annotations);
    summary.sources.push({
      dir: source.dir,
      format: source.format,
      clips: read.clips.length,
      skipped: read.skipped.length,
    });
    summary.skipped.push(...read.skipped.map((s) => ({ file: join(source.dir, s.file), reason: s.reason })));
  });
  for (const c of all) summary.splits[c.record.split]++;
  if (summary.splits.train === 0)
    throw new Error(
      `--data: none of the ${all.length} clips is in the train split; add train.txt (HumanML3D) or more clips`,
    );
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(`${outDir}.tmp`, { recursive: true });
  summary.frames = writePacked(all, annotations, `${outDir}.tmp`);
  renameSync(`${outDir}.tmp`, outDir);
  summary.clips = all.length;
  return summary;
}

// ---------------------------------------------------------------- the job's features cache and embeddings

function cacheIsCurrent(cacheDir: string, dataDir: string): boolean {
  try {
    return featureCacheStaleReasons(readFeatureCache(cacheDir).meta, dataDir).length === 0;
  } catch {
    return false; // a damaged cache (a crash mid-write) is simply rebuilt
  }
}

export interface PreparedData {
  cacheDir: string;
  /** The packed dataset the job trains on (its test split is what the production evaluation scores). */
  dataDir: string | null;
  /** Texts the embedding table must hold for this data (clip texts, labels and their mirrored forms). */
  texts: string[];
  /** What was done, for the job log. */
  note: string;
  summary?: ImportSummary;
}

const IMPORT_MARKER = 'import.json';

// Mirrored clips are trained with mirrored texts and labels, so the table must hold those too (trainer/tasks.py);
// the one side swap lives beside the embedding table.
export { mirrorSides };

export function textsToEmbed(dataDir: string): string[] {
  const ds = openDataset(dataDir);
  const texts = new Set<string>();
  for (const r of ds.records) {
    for (const t of r.texts) texts.add(t.trim()).add(mirrorSides(t.trim()));
    for (const l of r.action_labels) texts.add(labelText(l)).add(labelText(mirrorSides(l)));
  }
  texts.delete('');
  return [...texts];
}

/** The default data's cache (`charades data features`), built first when a fresh checkout has none. */
function prepareDefaultFeatureCache(cacheDir: string): PreparedData {
  if (existsSync(join(cacheDir, FEATURES_META)))
    return { cacheDir, dataDir: null, texts: [], note: `features cache ${cacheDir}` };
  const dataDir = requireDataDir(defaultDataDir());
  const written = writeFeatureCache({ dataDir, outDir: cacheDir });
  return {
    cacheDir,
    dataDir: null,
    texts: [],
    note: `built features cache ${cacheDir} for ${dataDir}: ${written.clips} clips, ${written.frames} frames`,
  };
}

/**
 * The features cache for a job: with no data folder, the default cache (built when missing); with one packed
 * folder, a cache built from it; otherwise the folders are imported into one packed dataset in the job folder
 * first. Each step is skipped when its output is current, so a resumed job does not redo it.
 */
export function prepareFeatureCache(
  dataDirs: readonly string[],
  jobDataDir: string,
  defaultCache: string = defaultFeatureCacheDir(),
): PreparedData {
  const sources = describeSources(dataDirs);
  const jobCacheDir = join(jobDataDir, 'features');
  if (sources.length === 0) return prepareDefaultFeatureCache(defaultCache);
  let dataDir: string;
  let note: string;
  let summary: ImportSummary | undefined;
  if (sources.length === 1 && sources[0].format === 'packed') {
    dataDir = sources[0].dir;
    note = `packed data ${dataDir}`;
  } else {
    dataDir = join(jobDataDir, 'data');
    const key = JSON.stringify(sources);
    const marker = join(jobDataDir, IMPORT_MARKER);
    const previous = existsSync(marker)
      ? (JSON.parse(readFileSync(marker, 'utf8')) as { key: string; summary: ImportSummary })
      : null;
    if (previous?.key === key && existsSync(join(dataDir, INDEX_FILE))) {
      summary = previous.summary;
      note = `imported data ${dataDir} is current`;
    } else {
      summary = importTrainingData(sources, dataDir);
      writeFileSync(marker, JSON.stringify({ key, summary }, null, 1));
      const parts = summary.sources.map(
        (s) => `${s.dir} (${s.format}: ${s.clips} clips${s.skipped ? `, ${s.skipped} skipped` : ''})`,
      );
      note = `imported ${summary.clips} clips, ${summary.frames} frames (train ${summary.splits.train} / val ${summary.splits.val} / test ${summary.splits.test}) from ${parts.join(' + ')}${describeSkips(summary.skipped)}`;
    }
  }
  const texts = textsToEmbed(dataDir);
  if (existsSync(join(jobCacheDir, FEATURES_META)) && cacheIsCurrent(jobCacheDir, dataDir)) {
    return {
      cacheDir: jobCacheDir,
      dataDir,
      texts,
      summary,
      note: `${note}; features cache ${jobCacheDir} is current`,
    };
  }
  const written = writeFeatureCache({ dataDir, outDir: jobCacheDir });
  return {
    cacheDir: jobCacheDir,
    dataDir,
    texts,
    summary,
    note: `${note}; built features cache for ${dataDir}: ${written.clips} clips, ${written.frames} frames`,
  };
}

// ---------------------------------------------------------------- embeddings

/** Writes an embedding table for `texts` (and the data's index and annotations) into `outDir`. */
export type EmbedTextsFn = (input: { dataDir: string; texts: string[]; outDir: string }) => Promise<void>;

/** The configured text encoder (CHARADES_TEXT_ENCODER), the same one `charades embed` uses. */
export const embedWithSentenceEncoder: EmbedTextsFn = async ({ dataDir, texts, outDir }) => {
  const encoder = await loadSentenceEncoder();
  try {
    const annotationsPath = join(dataDir, ANNOTATIONS_FILE);
    const table = await buildEmbeddingTable(
      {
        indexPath: join(dataDir, INDEX_FILE),
        annotationsPath: existsSync(annotationsPath) ? annotationsPath : undefined,
        extraTexts: texts,
      },
      encoder,
    );
    await writeEmbeddingTable(outDir, table);
  } finally {
    await encoder.close();
  }
};

function tableTexts(dir: string): Set<string> | null {
  try {
    return new Set((JSON.parse(readFileSync(join(dir, 'embeddings.json'), 'utf8')) as { texts: string[] }).texts);
  } catch {
    return null;
  }
}

/**
 * The embedding table a job's trainer reads: the shared one when it already holds every text of the data,
 * else one written into the job folder (kept for a resumed run when it still covers the texts).
 */
export async function prepareEmbeddings(
  prepared: PreparedData,
  jobDataDir: string,
  sharedTableDir: string,
  embed: EmbedTextsFn = embedWithSentenceEncoder,
): Promise<{ dir: string; note: string }> {
  const covers = (dir: string) => {
    const have = tableTexts(dir);
    return have !== null && prepared.texts.every((t) => have.has(t));
  };
  if (!prepared.dataDir && tableTexts(sharedTableDir) === null) {
    const dataDir = requireDataDir(defaultDataDir());
    await embed({ dataDir, texts: textsToEmbed(dataDir), outDir: sharedTableDir });
    return { dir: sharedTableDir, note: `built embedding table ${sharedTableDir} for ${dataDir}` };
  }
  if (!prepared.dataDir || covers(sharedTableDir))
    return { dir: sharedTableDir, note: `embedding table ${sharedTableDir}` };
  const own = join(jobDataDir, 'embeddings');
  if (covers(own)) return { dir: own, note: `embedding table ${own} is current` };
  const missing = prepared.texts.filter((t) => !tableTexts(sharedTableDir)?.has(t)).length;
  await embed({ dataDir: prepared.dataDir, texts: prepared.texts, outDir: own });
  if (!covers(own)) throw new Error(`the embedding table written to ${own} lacks some of the data's texts`);
  return { dir: own, note: `embedded ${missing} new text(s) into ${own}` };
}
