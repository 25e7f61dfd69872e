/**
 * The paraphrase sets (trainer/paraphrases.json, `charades-paraphrases/1`): hand-written chat-style phrasings of
 * every action label, style and CMU clip text, with a held-out slice per entry that training never sees. This file
 * is the one place that turns them into the sentences a clip is trained and evaluated with, so the embedding table
 * (which the trainer reads) and the production-path evaluation agree on every string.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { REPO_ROOT } from '../paths.js';

export const PARAPHRASES_FORMAT = 'charades-paraphrases/1';
export const DEFAULT_PARAPHRASES_FILE = resolve(REPO_ROOT, 'trainer', 'paraphrases.json');

const EntrySchema = z.object({
  phrases: z.array(z.string().min(1)).min(1),
  heldout: z.array(z.string().min(1)).default([]),
  packs: z.array(z.string()).optional(),
});
export type ParaphraseEntry = z.infer<typeof EntrySchema>;

const SidedSchema = z.object({ limb: z.enum(['hand', 'foot']), left: EntrySchema, right: EntrySchema });

export const ParaphraseFileSchema = z.object({
  format: z.literal(PARAPHRASES_FORMAT),
  provenance: z.record(z.string(), z.string()),
  actions: z.record(z.string(), EntrySchema),
  styles: z.record(z.string(), EntrySchema).default({}),
  texts: z.record(z.string(), EntrySchema).default({}),
  /** Per-side phrasings of one-sided actions whose label names no side ("kick"): used by the side the motion shows. */
  sided: z.record(z.string(), SidedSchema).default({}),
});
export type ParaphraseFile = z.infer<typeof ParaphraseFileSchema>;

export function readParaphrases(path: string = DEFAULT_PARAPHRASES_FILE): ParaphraseFile {
  if (!existsSync(path)) throw new Error(`paraphrase file ${path} does not exist`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = ParaphraseFileSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `${path}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'root'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** The clip fields a paraphrase set depends on. */
export interface ParaphraseClip {
  action_labels: readonly string[];
  style: string | null | undefined;
  texts: readonly string[];
}

/** One set per (action, style) pair or per CMU clip text: what a clip of it may be called. */
export interface ParaphraseSet {
  key: string;
  /** Trained on. */
  texts: string[];
  /** Never trained on: measures how well the model understands phrasings it has not seen. */
  heldout: string[];
}

export function actionSetKey(action: string, style: string | null | undefined): string {
  return `${action}|${style ?? ''}`;
}

export function textSetKey(text: string): string {
  return `text:${text}`;
}

/** "kick|foot:left": the phrasings of a one-sided action done with that limb (the trainer picks it per clip). */
export function sidedSetKey(action: string, limb: 'hand' | 'foot', side: 'left' | 'right'): string {
  return `${action}|${limb}:${side}`;
}

/** The set keys of a clip, most specific first (its own text's set, then its action × style set). */
export function clipSetKeys(clip: ParaphraseClip): string[] {
  const keys = clip.texts.map(textSetKey);
  if (clip.action_labels[0]) keys.push(actionSetKey(clip.action_labels[0], clip.style));
  return keys;
}

/** A stable small number per key, so each pair mixes its action and style phrasings in its own order. */
function keyOffset(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32LE(0);
}

/**
 * "wave your left hand" × "energetically" → "wave your left hand energetically". Each action phrase appears once
 * plain (what most users type) and once with one of the style's phrasings, chosen in turn from a per-pair offset.
 */
function compose(actionPhrases: readonly string[], stylePhrases: readonly string[] | undefined, key: string): string[] {
  const out = new Set(actionPhrases);
  if (stylePhrases && stylePhrases.length > 0) {
    const offset = keyOffset(key);
    actionPhrases.forEach((p, i) => out.add(`${p} ${stylePhrases[(offset + i) % stylePhrases.length]}`));
  }
  return [...out];
}

/** Every set the clips need, in first-seen order. Labels, styles or texts the file does not cover get no set. */
export function paraphraseSets(clips: Iterable<ParaphraseClip>, file: ParaphraseFile): ParaphraseSet[] {
  const sets = new Map<string, ParaphraseSet>();
  for (const clip of clips) {
    for (const text of clip.texts) {
      const entry = file.texts[text];
      const key = textSetKey(text);
      if (entry && !sets.has(key)) sets.set(key, { key, texts: [...entry.phrases], heldout: [...entry.heldout] });
    }
    const action = clip.action_labels[0];
    const entry = action ? file.actions[action] : undefined;
    if (!action || !entry) continue;
    const key = actionSetKey(action, clip.style);
    if (sets.has(key)) continue;
    const style = clip.style ? file.styles[clip.style] : undefined;
    sets.set(key, {
      key,
      texts: compose(entry.phrases, style?.phrases, key),
      heldout: compose(entry.heldout, style?.heldout ?? style?.phrases, `${key}#heldout`),
    });
    const sided = file.sided[action];
    for (const side of ['left', 'right'] as const) {
      const k = sided ? sidedSetKey(action, sided.limb, side) : '';
      if (sided && !sets.has(k))
        sets.set(k, { key: k, texts: [...sided[side].phrases], heldout: [...sided[side].heldout] });
    }
  }
  return [...sets.values()];
}

export function paraphrasesSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
