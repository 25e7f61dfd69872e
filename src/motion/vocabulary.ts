/**
 * A model version's vocabulary: what its motion model was taught to act, so the agent can tell a request it
 * knows from one it does not. Written next to the ONNX files (`vocabulary.json` + `vocabulary.i8`, listed in the
 * manifest's files) from the data packs' texts and action labels, the hand-written training paraphrases
 * (`trainer/paraphrases.json`, its `phrases` only — `heldout` phrases are for evaluation) and the shipped
 * Action-GPT descriptions, each embedded with the model's text encoder.
 *
 * Embeddings are stored as int8 with one scale per row (a unit vector loses < 0.5 % of cosine that way) so
 * the files stay well under 3 MB; float16 would double that.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';
import type { SentenceEncoder } from './text/encoder.js';
import { meanVector } from './text/aggregate.js';

export const VOCABULARY_FILE = 'vocabulary.json';
export const VOCABULARY_EMBEDDINGS_FILE = 'vocabulary.i8';
export const VOCABULARY_FORMAT = 'charades-vocabulary/1';

export const VocabularyKindSchema = z.enum(['label', 'text', 'paraphrase', 'action-gpt']);
export type VocabularyKind = z.infer<typeof VocabularyKindSchema>;

export const VocabularyEntrySchema = z.object({
  /** The words: a data text ("a person crawls forward …"), a label ("crawl"), a paraphrase or an Action-GPT phrase. */
  text: z.string().min(1),
  kind: VocabularyKindSchema,
  /** The data's action label this entry stands for, where there is one. */
  label: z.string().optional(),
  /** Action-GPT's k descriptions of the phrase (its embedding is their mean, as the model sees it). */
  descriptions: z.array(z.string()).optional(),
});
export type VocabularyEntry = z.infer<typeof VocabularyEntrySchema>;

export const VocabularyFileSchema = z.object({
  format: z.literal(VOCABULARY_FORMAT),
  model: z.string(),
  created: z.string(),
  encoder: z.object({ id: z.string(), dim: z.number().int().positive() }),
  /** How many entries each source gave, and which files they came from. */
  sources: z.record(z.string(), z.union([z.number(), z.string()])),
  entries: z.array(VocabularyEntrySchema),
  /** Per-row scale of the int8 embeddings: value = int8 × scale. */
  scales: z.array(z.number()),
});
export type VocabularyFile = z.infer<typeof VocabularyFileSchema>;

export interface VocabularyMatch {
  entry: VocabularyEntry;
  cosine: number;
}

/** A loaded vocabulary: entries and their (dequantised, unit-length) embeddings. */
export class Vocabulary {
  constructor(
    readonly file: VocabularyFile,
    private readonly vectors: Float32Array,
  ) {}

  get size(): number {
    return this.file.entries.length;
  }

  /** The k entries closest to an embedding (cosine, highest first); `kinds` narrows the search. */
  nearest(embedding: ArrayLike<number>, k = 5, kinds?: readonly VocabularyKind[]): VocabularyMatch[] {
    const dim = this.file.encoder.dim;
    if (embedding.length !== dim)
      throw new Error(`vocabulary of ${this.file.model}: expected a ${dim}-dim embedding, got ${embedding.length}`);
    const norm = Math.hypot(...Array.from(embedding)) || 1;
    const scored: VocabularyMatch[] = [];
    this.file.entries.forEach((entry, i) => {
      if (kinds && !kinds.includes(entry.kind)) return;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += this.vectors[i * dim + d] * embedding[d];
      scored.push({ entry, cosine: dot / norm });
    });
    return scored.sort((a, b) => b.cosine - a.cosine).slice(0, k);
  }
}

// ---------------------------------------------------------------- sources

export interface VocabularySources {
  /** Data packs the model was trained on (folders with index.jsonl). */
  dataDirs: string[];
  /** `trainer/paraphrases.json` (format charades-paraphrases/1); absent = none. */
  paraphrases?: string;
  /** The shipped Action-GPT descriptions (JSONL of {phrase, descriptions}); absent = none. */
  annotations?: string;
}

const ParaphrasesSchema = z.object({
  format: z.literal('charades-paraphrases/1'),
  actions: z.record(z.string(), z.object({ phrases: z.array(z.string()) }).passthrough()).default({}),
  texts: z.record(z.string(), z.object({ phrases: z.array(z.string()) }).passthrough()).default({}),
});

const IndexLineSchema = z.object({ texts: z.array(z.string()), action_labels: z.array(z.string()) }).passthrough();
const AnnotationSchema = z
  .object({ phrase: z.string().min(1), descriptions: z.array(z.string().min(1)).min(1), action: z.string().optional() })
  .passthrough();

function readJsonLines<T>(path: string, schema: z.ZodType<T>): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line)
    .map(([line, n]) => {
      const r = schema.safeParse(JSON.parse(line));
      if (!r.success)
        throw new Error(`${path}:${n}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
      return r.data;
    });
}

/** The entries of every source, deduplicated by text (the first source to name a text keeps it). */
export function collectVocabularyEntries(sources: VocabularySources): {
  entries: VocabularyEntry[];
  counts: Record<string, number>;
} {
  const byText = new Map<string, VocabularyEntry>();
  const counts: Record<string, number> = { label: 0, text: 0, paraphrase: 0, 'action-gpt': 0 };
  const add = (entry: VocabularyEntry) => {
    const key = entry.text.trim().toLowerCase();
    if (!key || byText.has(key)) return;
    byText.set(key, { ...entry, text: entry.text.trim() });
    counts[entry.kind]++;
  };
  const labels = new Set<string>();
  const texts = new Set<string>();
  for (const dir of sources.dataDirs) {
    const index = join(dir, 'index.jsonl');
    if (!existsSync(index)) throw new Error(`vocabulary: no data pack at ${dir} (index.jsonl missing)`);
    for (const clip of readJsonLines(index, IndexLineSchema)) {
      const label = clip.action_labels[0];
      for (const l of clip.action_labels) labels.add(l);
      for (const t of clip.texts) texts.add(t);
      for (const l of clip.action_labels) add({ text: l.replace(/-/g, ' '), kind: 'label', label: l });
      for (const t of clip.texts) add({ text: t, kind: 'text', ...(label ? { label } : {}) });
    }
  }
  if (sources.paraphrases && existsSync(sources.paraphrases)) {
    const r = ParaphrasesSchema.safeParse(JSON.parse(readFileSync(sources.paraphrases, 'utf8')));
    if (!r.success)
      throw new Error(
        `${sources.paraphrases}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`,
      );
    // only paraphrases of what these packs hold: a model trained without CMU knows no "play basketball"
    for (const [label, a] of Object.entries(r.data.actions))
      if (labels.has(label)) for (const p of a.phrases) add({ text: p, kind: 'paraphrase', label });
    for (const [text, t] of Object.entries(r.data.texts))
      if (texts.has(text)) for (const p of t.phrases) add({ text: p, kind: 'paraphrase' });
  }
  if (sources.annotations && existsSync(sources.annotations)) {
    for (const a of readJsonLines(sources.annotations, AnnotationSchema)) {
      add({
        text: a.phrase,
        kind: 'action-gpt',
        ...(a.action ? { label: a.action } : {}),
        descriptions: a.descriptions,
      });
    }
  }
  return { entries: [...byText.values()], counts };
}

// ---------------------------------------------------------------- building, writing, reading

/** Embeds every entry (an Action-GPT phrase as the mean of its descriptions, as the model is conditioned). */
export async function embedVocabulary(
  entries: readonly VocabularyEntry[],
  encoder: SentenceEncoder,
  batch = 64,
): Promise<Float32Array> {
  const out = new Float32Array(entries.length * encoder.dim);
  const plain = entries.map((e, i) => [e, i] as const).filter(([e]) => !e.descriptions?.length);
  for (let b = 0; b < plain.length; b += batch) {
    const chunk = plain.slice(b, b + batch);
    const vectors = await encoder.embed(chunk.map(([e]) => e.text));
    chunk.forEach(([, i], k) => out.set(vectors[k], i * encoder.dim));
  }
  for (const [i, e] of entries.entries()) {
    if (!e.descriptions?.length) continue;
    const mean = meanVector(await encoder.embed(e.descriptions));
    const norm = Math.hypot(...mean) || 1;
    out.set(
      mean.map((v) => v / norm),
      i * encoder.dim,
    );
  }
  return out;
}

function quantise(vectors: Float32Array, rows: number, dim: number): { bytes: Int8Array; scales: number[] } {
  const bytes = new Int8Array(rows * dim);
  const scales: number[] = [];
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let d = 0; d < dim; d++) max = Math.max(max, Math.abs(vectors[r * dim + d]));
    const scale = max > 0 ? max / 127 : 1;
    scales.push(Math.fround(scale));
    for (let d = 0; d < dim; d++) bytes[r * dim + d] = Math.round(vectors[r * dim + d] / scale);
  }
  return { bytes, scales };
}

function dequantise(bytes: Int8Array, scales: readonly number[], dim: number): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let r = 0; r < scales.length; r++) {
    let sum = 0;
    for (let d = 0; d < dim; d++) {
      out[r * dim + d] = bytes[r * dim + d] * scales[r];
      sum += out[r * dim + d] ** 2;
    }
    const norm = Math.sqrt(sum) || 1;
    for (let d = 0; d < dim; d++) out[r * dim + d] /= norm;
  }
  return out;
}

export interface BuildVocabularyOptions extends VocabularySources {
  modelDir: string;
  encoder: SentenceEncoder;
}

/** Builds and writes the vocabulary of a model version, and lists its files (with sha256) in the manifest. */
export async function writeVocabulary(opts: BuildVocabularyOptions): Promise<{ file: VocabularyFile; bytes: number }> {
  const manifestPath = join(opts.modelDir, 'manifest.json');
  if (!existsSync(manifestPath))
    throw new Error(`vocabulary: ${opts.modelDir} is no model version (manifest.json missing)`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    version: string;
    textEncoder: { id: string; dim: number };
    files: Record<string, string>;
  };
  if (manifest.textEncoder.id !== opts.encoder.id || manifest.textEncoder.dim !== opts.encoder.dim) {
    throw new Error(
      `vocabulary: the model ${manifest.version} was trained with text encoder ${manifest.textEncoder.id} (${manifest.textEncoder.dim}), the configured one is ${opts.encoder.id} (${opts.encoder.dim})`,
    );
  }
  const { entries, counts } = collectVocabularyEntries(opts);
  if (entries.length === 0) throw new Error('vocabulary: the sources hold no texts');
  const vectors = await embedVocabulary(entries, opts.encoder);
  const { bytes, scales } = quantise(vectors, entries.length, opts.encoder.dim);
  const file: VocabularyFile = {
    format: VOCABULARY_FORMAT,
    model: manifest.version,
    created: new Date().toISOString(),
    encoder: { id: opts.encoder.id, dim: opts.encoder.dim },
    sources: {
      ...counts,
      data: opts.dataDirs.map(shortPath).join(', '),
      paraphrases: opts.paraphrases && existsSync(opts.paraphrases) ? shortPath(opts.paraphrases) : 'none',
      annotations: opts.annotations && existsSync(opts.annotations) ? shortPath(opts.annotations) : 'none',
    },
    entries,
    scales,
  };
  const json = Buffer.from(`${JSON.stringify(file)}\n`);
  const bin = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  writeAtomically(join(opts.modelDir, VOCABULARY_FILE), json);
  writeAtomically(join(opts.modelDir, VOCABULARY_EMBEDDINGS_FILE), bin);
  manifest.files[VOCABULARY_FILE] = sha256(json);
  manifest.files[VOCABULARY_EMBEDDINGS_FILE] = sha256(bin);
  writeAtomically(manifestPath, Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`));
  return { file, bytes: json.length + bin.length };
}

/** The vocabulary of a model version, or undefined when it has none (older versions). */
export function readVocabulary(modelDir: string): Vocabulary | undefined {
  const jsonPath = join(modelDir, VOCABULARY_FILE);
  const binPath = join(modelDir, VOCABULARY_EMBEDDINGS_FILE);
  if (!existsSync(jsonPath)) return undefined;
  if (!existsSync(binPath))
    throw new Error(
      `${binPath} is missing (${VOCABULARY_FILE} needs it); regenerate with \`charades models vocabulary\``,
    );
  const r = VocabularyFileSchema.safeParse(JSON.parse(readFileSync(jsonPath, 'utf8')));
  if (!r.success)
    throw new Error(`${jsonPath}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
  const file = r.data;
  const raw = readFileSync(binPath);
  const expected = file.entries.length * file.encoder.dim;
  if (raw.length !== expected || file.scales.length !== file.entries.length) {
    throw new Error(
      `${binPath}: ${raw.length} bytes and ${file.scales.length} scales for ${file.entries.length} entries × ${file.encoder.dim} dims (expected ${expected}); regenerate with \`charades models vocabulary\``,
    );
  }
  const bytes = new Int8Array(raw.buffer, raw.byteOffset, raw.length);
  return new Vocabulary(file, dequantise(bytes, file.scales, file.encoder.dim));
}

/** A source path as the file records it: relative to the working folder, so the file says nothing of this machine. */
function shortPath(path: string): string {
  return relative(process.cwd(), path) || '.';
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function writeAtomically(path: string, bytes: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
