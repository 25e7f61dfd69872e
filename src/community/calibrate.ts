/**
 * Calibrates the charades game's guess threshold on the motion data's own language. Every annotation record
 * names one (action, style) pair by a phrase ("bow energetically") and template sentences ("a person bows
 * energetically."). A guess should count when it says the same thing in other words, so:
 *   positives = (phrase, sentence) of the same record — the same act worded differently;
 *   negatives = (phrase, sentence) of records with a different action label;
 *   near misses = same action, different style — reported, not optimised (a guess "bow" for "bow tiredly").
 * The threshold is the cosine that maximises Youden's J (TPR − FPR) among thresholds whose false-accept rate
 * stays at or below `maxFalseAccept`: a wrong guess accepted ends the round unfairly, so FPR is capped first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SentenceEncoder } from '../motion/text/index.js';
import { cosine } from '../motion/index.js';
import { normalisePhrase } from './text.js';

export interface AnnotationRecord {
  phrase: string;
  action: string;
  style: string;
  texts: string[];
}

export interface Calibration {
  encoder: string;
  records: number;
  pairs: { positive: number; negative: number; nearMiss: number };
  threshold: number;
  truePositiveRate: number;
  falseAcceptRate: number;
  nearMissAcceptRate: number;
  maxFalseAccept: number;
  /** Percentiles of the two cosine distributions, to see how well they separate. */
  positive: { p5: number; p50: number; p95: number };
  negative: { p5: number; p50: number; p95: number; max: number };
}

export function readAnnotations(motionDataDir: string): AnnotationRecord[] {
  const path = join(motionDataDir, 'annotations', 'action-gpt-k4.jsonl');
  if (!existsSync(path)) throw new Error(`no annotations at ${path}; set CHARADES_DATA to the motion data folder`);
  const out: AnnotationRecord[] = [];
  for (const [n, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    if (!line.trim()) continue;
    let rec: Partial<AnnotationRecord>;
    try {
      rec = JSON.parse(line) as Partial<AnnotationRecord>;
    } catch {
      throw new Error(`${path}:${n + 1}: not JSON`);
    }
    if (typeof rec.phrase !== 'string' || typeof rec.action !== 'string' || !Array.isArray(rec.texts))
      throw new Error(`${path}:${n + 1}: expected phrase, action and texts`);
    out.push({
      phrase: rec.phrase,
      action: rec.action,
      style: String(rec.style ?? ''),
      texts: rec.texts.filter((t): t is string => typeof t === 'string'),
    });
  }
  return out;
}

function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Thresholds are searched on a 0.005 grid: finer would only fit the noise of a few hundred records. */
export function chooseThreshold(
  positive: readonly number[],
  negative: readonly number[],
  maxFalseAccept: number,
): { threshold: number; tpr: number; fpr: number } {
  let best = { threshold: 1, tpr: 0, fpr: 0, j: -Infinity };
  for (let step = 0; step <= 200; step++) {
    const t = step / 200;
    const tpr = positive.filter((c) => c >= t).length / Math.max(positive.length, 1);
    const fpr = negative.filter((c) => c >= t).length / Math.max(negative.length, 1);
    if (fpr > maxFalseAccept) continue;
    if (tpr - fpr > best.j) best = { threshold: round3(t), tpr, fpr, j: tpr - fpr };
  }
  return { threshold: best.threshold, tpr: best.tpr, fpr: best.fpr };
}

export async function calibrateGuessThreshold(
  records: readonly AnnotationRecord[],
  encoder: SentenceEncoder,
  maxFalseAccept = 0.01,
): Promise<Calibration> {
  if (records.length < 2) throw new Error(`calibration needs at least 2 annotation records, got ${records.length}`);
  const phrases = records.map((r) => normalisePhrase(r.phrase));
  const sentences = records.map((r) => [...new Set(r.texts.map(normalisePhrase).filter(Boolean))]);
  const unique = [...new Set([...phrases, ...sentences.flat()])];
  const vectors = await encoder.embed(unique);
  const vec = new Map(unique.map((t, i) => [t, vectors[i]]));
  const positive: number[] = [];
  const negative: number[] = [];
  const nearMiss: number[] = [];
  records.forEach((r, i) => {
    const p = vec.get(phrases[i])!;
    records.forEach((o, j) => {
      for (const s of sentences[j]) {
        const c = cosine(p, vec.get(s)!);
        if (i === j) positive.push(c);
        else if (o.action !== r.action) negative.push(c);
        else if (o.style !== r.style) nearMiss.push(c);
      }
    });
  });
  const { threshold, tpr, fpr } = chooseThreshold(positive, negative, maxFalseAccept);
  const pos = [...positive].sort((a, b) => a - b);
  const neg = [...negative].sort((a, b) => a - b);
  return {
    encoder: encoder.id,
    records: records.length,
    pairs: { positive: positive.length, negative: negative.length, nearMiss: nearMiss.length },
    threshold,
    truePositiveRate: round3(tpr),
    falseAcceptRate: round3(fpr),
    nearMissAcceptRate: round3(nearMiss.filter((c) => c >= threshold).length / Math.max(nearMiss.length, 1)),
    maxFalseAccept,
    positive: {
      p5: round3(percentile(pos, 0.05)),
      p50: round3(percentile(pos, 0.5)),
      p95: round3(percentile(pos, 0.95)),
    },
    negative: {
      p5: round3(percentile(neg, 0.05)),
      p50: round3(percentile(neg, 0.5)),
      p95: round3(percentile(neg, 0.95)),
      max: round3(neg[neg.length - 1]),
    },
  };
}
