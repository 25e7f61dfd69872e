/**
 * The embedding table of docs/data-contract.md: every dataset sentence, label and Action-GPT description
 * embedded once by the TypeScript encoder, so the Python trainer never re-implements it.
 * `embeddings.f32` = float32 LE [N, dim]; `embeddings.json` = encoder, texts, kinds, phrases, sources.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { SentenceEncoder } from './encoder.js';
import { clipSetKeys, paraphraseSets, type ParaphraseFile, type ParaphraseSet } from './paraphrases.js';
import { textSide } from './side.js';

export const TABLE_KINDS = ['text', 'description', 'label', 'extra', 'paraphrase'] as const;
export type TableKind = (typeof TABLE_KINDS)[number];

export interface PhraseRecord {
  phrase: string;
  texts: string[];
  descriptions: string[];
}

export interface TableSources {
  indexSha256?: string;
  annotationsSha256?: string;
  extraSha256?: string;
  paraphrasesSha256?: string;
}

export interface EmbeddingTableMeta {
  encoder: { id: string; dim: number };
  texts: string[];
  kinds: TableKind[];
  /** Per row, the side its words ask for (side.ts SIDES): the trainer's explicit left/right signal. */
  sides: number[];
  phrases: PhraseRecord[];
  /** Paraphrase sets of the data's clips (paraphrases.ts); every text and held-out text in them has a row. */
  paraphraseSets: ParaphraseSet[];
  sources: TableSources;
}

export interface EmbeddingTable extends EmbeddingTableMeta {
  /** Row-major [texts.length, dim]. */
  vectors: Float32Array;
}

const IndexRecordSchema = z.object({
  id: z.string(),
  action_labels: z.array(z.string()).default([]),
  style: z.string().nullish(),
  texts: z.array(z.string()).default([]),
});

const AnnotationSchema = z.object({
  phrase: z.string().min(1),
  texts: z.array(z.string()).default([]),
  descriptions: z.array(z.string().min(1)).min(1),
});

/** Reads a JSON-lines file, naming file and line in every error. */
function parseJsonl<T>(path: string, schema: z.ZodType<T>): T[] {
  if (!existsSync(path)) throw new Error(`${path} does not exist`);
  const out: T[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (err) {
        throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`, { cause: err });
      }
      const r = schema.safeParse(json);
      if (!r.success)
        throw new Error(
          `${path}:${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`,
        );
      out.push(r.data);
    });
  return out;
}

/** Labels are slugs ("walk-turn-left"); the encoder reads words, so they are embedded as "walk turn left". */
export function labelText(label: string): string {
  return label.replace(/[-_]+/g, ' ').trim();
}

/** Extra texts: a JSON array of strings, or one text per line. */
export function readExtraTexts(path: string): string[] {
  if (!existsSync(path)) throw new Error(`extra texts file ${path} does not exist`);
  const raw = readFileSync(path, 'utf8');
  if (path.endsWith('.json')) {
    const parsed = z.array(z.string()).safeParse(JSON.parse(raw));
    if (!parsed.success) throw new Error(`${path}: expected a JSON array of strings`);
    return parsed.data.map((t) => t.trim()).filter((t) => t.length > 0);
  }
  return raw
    .split('\n')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

export interface TableInputs {
  /** One pack's index.jsonl, or several packs' (every clip's texts, labels and paraphrase sets are embedded). */
  indexPath?: string | readonly string[];
  annotationsPath?: string;
  extraTexts?: string[];
  paraphrases?: { file: ParaphraseFile; sha256: string };
}

/** The sentence that describes a left/right-mirrored clip; the trainer mirrors clips and needs their texts too. */
export function mirrorSides(text: string): string {
  return text.replace(/\b(left|right)\b/g, (m) => (m === 'left' ? 'right' : 'left'));
}

function sha256OfFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every distinct text to embed, with the first kind it was seen as (text > description > label > extra). */
export function collectTableTexts(inputs: TableInputs): Omit<EmbeddingTableMeta, 'encoder'> {
  const kinds = new Map<string, TableKind>();
  const add = (t: string, kind: TableKind): void => {
    const s = t.trim();
    if (s.length > 0 && !kinds.has(s)) kinds.set(s, kind);
  };
  const sources: TableSources = {};
  const labels: string[] = [];
  const indexPaths =
    inputs.indexPath === undefined
      ? []
      : typeof inputs.indexPath === 'string'
        ? [inputs.indexPath]
        : [...inputs.indexPath];
  const records = indexPaths.flatMap((p) => parseJsonl(p, IndexRecordSchema));
  for (const r of records) r.texts.forEach((t) => add(t, 'text'));
  for (const r of records) labels.push(...r.action_labels, ...(r.style ? [r.style] : []));
  if (indexPaths.length > 0) {
    // One index: its file hash (as before); several: the hash of their bytes one after another (as the features cache).
    sources.indexSha256 = createHash('sha256')
      .update(Buffer.concat(indexPaths.map((p) => readFileSync(p))))
      .digest('hex');
  }
  const phrases: PhraseRecord[] = [];
  if (inputs.annotationsPath) {
    for (const a of parseJsonl(inputs.annotationsPath, AnnotationSchema)) {
      phrases.push({ phrase: a.phrase, texts: a.texts, descriptions: a.descriptions });
      a.descriptions.forEach((d) => add(d, 'description'));
    }
    sources.annotationsSha256 = sha256OfFile(inputs.annotationsPath);
  }
  labels.forEach((l) => add(labelText(l), 'label'));
  phrases.forEach((p) => add(p.phrase, 'label'));
  for (const r of records) {
    r.texts.forEach((t) => add(mirrorSides(t), 'extra'));
    r.action_labels.forEach((l) => add(labelText(mirrorSides(l)), 'extra'));
  }
  let sets: ParaphraseSet[] = [];
  if (inputs.paraphrases) {
    const clips = records.map((r) => ({ action_labels: r.action_labels, style: r.style, texts: r.texts }));
    sets = paraphraseSets(clips, inputs.paraphrases.file);
    sets.forEach((set) => [...set.texts, ...set.heldout].forEach((t) => add(t, 'paraphrase')));
    sources.paraphrasesSha256 = inputs.paraphrases.sha256;
  }
  if (inputs.extraTexts) {
    inputs.extraTexts.forEach((t) => add(t, 'extra'));
    sources.extraSha256 = createHash('sha256').update(inputs.extraTexts.join('\n')).digest('hex');
  }
  const texts = [...kinds.keys()];
  return { texts, kinds: [...kinds.values()], sides: texts.map(textSide), phrases, paraphraseSets: sets, sources };
}

/**
 * The paraphrase sets that name a clip: its own text's set when it has one (CMU's labels are per subject, so
 * "climb" also covers that subject's jumps), else its action × style set. trainer/data.py `sets_for` mirrors this.
 */
export function setsForClip(
  table: Pick<EmbeddingTableMeta, 'paraphraseSets'>,
  clip: Parameters<typeof clipSetKeys>[0],
): ParaphraseSet[] {
  const byKey = new Map(table.paraphraseSets.map((s) => [s.key, s]));
  const found = clipSetKeys(clip).flatMap((k) => byKey.get(k) ?? []);
  const own = found.filter((s) => s.key.startsWith('text:'));
  return own.length > 0 ? own : found.slice(0, 1);
}

export interface BuildProgress {
  done: number;
  total: number;
}

/** Embeds the collected texts in chunks so a caller can show progress. */
export async function buildEmbeddingTable(
  inputs: TableInputs,
  encoder: SentenceEncoder,
  onProgress?: (p: BuildProgress) => void,
  chunk = 128,
): Promise<EmbeddingTable> {
  const meta = collectTableTexts(inputs);
  const vectors = new Float32Array(meta.texts.length * encoder.dim);
  for (let i = 0; i < meta.texts.length; i += chunk) {
    const vecs = await encoder.embed(meta.texts.slice(i, i + chunk));
    vecs.forEach((v, j) => {
      if (v.length !== encoder.dim)
        throw new Error(
          `encoder ${encoder.id} returned ${v.length} dims for "${meta.texts[i + j]}", declared ${encoder.dim}`,
        );
      vectors.set(v, (i + j) * encoder.dim);
    });
    onProgress?.({ done: Math.min(i + chunk, meta.texts.length), total: meta.texts.length });
  }
  return { encoder: { id: encoder.id, dim: encoder.dim }, ...meta, vectors };
}

/** Writes both files via temporary names, so a reader never sees a half-written table. */
export async function writeEmbeddingTable(
  dir: string,
  table: EmbeddingTable,
): Promise<{ binPath: string; jsonPath: string }> {
  await mkdir(dir, { recursive: true });
  const binPath = join(dir, 'embeddings.f32');
  const jsonPath = join(dir, 'embeddings.json');
  const { vectors, ...meta } = table;
  await writeFile(`${binPath}.tmp`, Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength));
  await writeFile(`${jsonPath}.tmp`, `${JSON.stringify(meta)}\n`);
  await rename(`${binPath}.tmp`, binPath);
  await rename(`${jsonPath}.tmp`, jsonPath);
  return { binPath, jsonPath };
}

const TableMetaSchema = z.object({
  encoder: z.object({ id: z.string().min(1), dim: z.number().int().positive() }),
  texts: z.array(z.string()),
  kinds: z.array(z.enum(TABLE_KINDS)),
  sides: z.array(z.number().int().min(0).max(3)).optional(),
  phrases: z.array(z.object({ phrase: z.string(), texts: z.array(z.string()), descriptions: z.array(z.string()) })),
  paraphraseSets: z
    .array(z.object({ key: z.string(), texts: z.array(z.string()), heldout: z.array(z.string()) }))
    .default([]),
  sources: z
    .object({
      indexSha256: z.string().optional(),
      annotationsSha256: z.string().optional(),
      extraSha256: z.string().optional(),
      paraphrasesSha256: z.string().optional(),
    })
    .default({}),
});

export async function readEmbeddingTable(dir: string): Promise<EmbeddingTable> {
  const jsonPath = join(dir, 'embeddings.json');
  const binPath = join(dir, 'embeddings.f32');
  for (const p of [jsonPath, binPath])
    if (!existsSync(p)) throw new Error(`embedding table ${dir}: ${p} is missing; run \`charades embed\``);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8'));
  } catch (err) {
    throw new Error(`${jsonPath}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const r = TableMetaSchema.safeParse(json);
  if (!r.success)
    throw new Error(`${jsonPath}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
  const meta = r.data;
  if (meta.kinds.length !== meta.texts.length)
    throw new Error(`${jsonPath}: ${meta.texts.length} texts but ${meta.kinds.length} kinds`);
  const bytes = await readFile(binPath);
  const expected = meta.texts.length * meta.encoder.dim * 4;
  if (bytes.byteLength !== expected) {
    throw new Error(
      `${binPath}: ${bytes.byteLength} bytes, expected ${meta.texts.length} × ${meta.encoder.dim} × 4 = ${expected}`,
    );
  }
  const vectors = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  // Tables written before side parsing: derive the sides now (the same function would have written them).
  return { ...meta, sides: meta.sides ?? meta.texts.map(textSide), vectors };
}

/** Row lookup by exact text. */
export function tableVector(table: EmbeddingTable, text: string): Float32Array | undefined {
  const i = table.texts.indexOf(text);
  return i < 0 ? undefined : table.vectors.subarray(i * table.encoder.dim, (i + 1) * table.encoder.dim);
}
