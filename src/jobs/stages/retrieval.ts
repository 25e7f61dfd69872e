/**
 * The interim generator: it does not synthesise motion, it RETRIEVES the dataset clip whose texts and
 * labels best match each segment's text, then fits it to the asked duration and speed. It is the
 * fallback when no model version is installed; the ONNX engine replaces it when one is.
 */
import { FPS, NUM_JOINTS, makeMotion, mulberry32, openDataset } from '../../motion/index.js';
import type { ClipRecord, Dataset, Motion, MotionRequest } from '../../motion/index.js';
import type { GeneratorStage } from '../types.js';

const STOP = new Set([
  'a',
  'an',
  'the',
  'person',
  'man',
  'woman',
  'someone',
  'and',
  'of',
  'to',
  'in',
  'on',
  'with',
  'is',
  'are',
  'like',
  'act',
  'acts',
  'acting',
  'make',
  'do',
  'does',
  'their',
  'his',
  'her',
  'it',
  'then',
  'while',
  'at',
  'as',
  'be',
  'by',
  'for',
  'up',
]);

/** Crude stemming is enough here: "walks", "walking", "walked" should meet "walk". */
function stem(word: string): string {
  return word.replace(/(?:ing|ed|es|s|ly)$/, '') || word;
}

export function tokens(text: string): string[] {
  return (text.toLowerCase().match(/[a-z]+/g) ?? []).filter((w) => !STOP.has(w)).map(stem);
}

interface IndexedClip {
  record: ClipRecord;
  words: Set<string>;
}

export class ClipIndex {
  private readonly clips: IndexedClip[];
  private readonly idf = new Map<string, number>();

  constructor(readonly dataset: Dataset) {
    this.clips = dataset.records.map((record) => ({
      record,
      words: new Set(tokens([...record.texts, ...record.action_labels, record.style].join(' '))),
    }));
    const df = new Map<string, number>();
    for (const c of this.clips) for (const w of c.words) df.set(w, (df.get(w) ?? 0) + 1);
    for (const [w, n] of df) this.idf.set(w, Math.log(1 + this.clips.length / n));
  }

  /** Clips ranked by idf-weighted word overlap with `text`, best first (ties keep dataset order). */
  rank(text: string, count: number): { record: ClipRecord; score: number }[] {
    const query = [...new Set(tokens(text))];
    const scored = this.clips.map((c) => ({
      record: c.record,
      score: query.reduce((s, w) => s + (c.words.has(w) ? (this.idf.get(w) ?? 0) : 0), 0),
    }));
    return scored.sort((a, b) => b.score - a.score).slice(0, count);
  }
}

/**
 * Resamples `clip` to `frames` output frames played at `speed` (0.5 = half speed); past the clip's end
 * it holds the last pose, so the result always has the asked length.
 */
export function fitClip(joints: Float32Array, clipFrames: number, frames: number, speed: number): Float32Array {
  const stride = NUM_JOINTS * 3;
  const out = new Float32Array(frames * stride);
  for (let f = 0; f < frames; f++) {
    const t = Math.min(f * speed, clipFrames - 1);
    const i0 = Math.floor(t);
    const i1 = Math.min(i0 + 1, clipFrames - 1);
    const w = t - i0;
    for (let k = 0; k < stride; k++)
      out[f * stride + k] = joints[i0 * stride + k] * (1 - w) + joints[i1 * stride + k] * w;
  }
  return out;
}

/** Shifts `joints` horizontally so its first pelvis position lands on (x, z). */
function placeAt(joints: Float32Array, x: number, z: number): void {
  const dx = x - joints[0];
  const dz = z - joints[2];
  for (let i = 0; i < joints.length; i += 3) {
    joints[i] += dx;
    joints[i + 2] += dz;
  }
}

export function createRetrievalGenerator(dataDir?: string): GeneratorStage & { index: () => ClipIndex } {
  let index: ClipIndex | undefined;
  const getIndex = (): ClipIndex => (index ??= new ClipIndex(openDataset(dataDir)));

  const sample = (request: MotionRequest, sampleNo: number): Motion => {
    const random = mulberry32(request.seed * 4 + sampleNo + 1);
    const pieces: Float32Array[] = [];
    const segments: Motion['segments'] = [];
    const sources: string[] = [];
    let start = 0;
    for (const seg of request.segments) {
      const ranked = getIndex().rank(seg.text, 8);
      const best = ranked[0].score;
      const pool = ranked.filter((r) => r.score >= best * 0.8);
      const record = pool[Math.floor(random() * pool.length)].record;
      const clip = getIndex().dataset.positions(record);
      const frames = Math.max(2, Math.round((seg.seconds * FPS) / request.speed));
      const joints = fitClip(clip, record.num_frames, frames, (request.speed * record.fps) / FPS);
      const prev = pieces[pieces.length - 1];
      if (prev) {
        const lastFrame = prev.length - NUM_JOINTS * 3;
        placeAt(joints, prev[lastFrame], prev[lastFrame + 2]);
      }
      pieces.push(joints);
      segments.push({ text: seg.text, start, end: start + frames });
      sources.push(record.id);
      start += frames;
    }
    const all = new Float32Array(start * NUM_JOINTS * 3);
    let offset = 0;
    for (const p of pieces) {
      all.set(p, offset);
      offset += p.length;
    }
    return makeMotion({
      fps: FPS,
      numFrames: start,
      joints: all,
      segments,
      provenance: {
        source: `retrieval:${sources.join('+')}`,
        seed: request.seed,
        request,
        createdAt: new Date().toISOString(),
      },
    });
  };

  return {
    name: 'retrieval',
    index: getIndex,
    async generate(request: MotionRequest): Promise<Motion[]> {
      return Array.from({ length: request.samples }, (_, i) => sample(request, i));
    },
  };
}
