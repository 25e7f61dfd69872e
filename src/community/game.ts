/**
 * The charades game's judgement: a guess counts when its normalised text equals the phrase's, or when the
 * Universal Sentence Encoder puts it at cosine ≥ GUESS_THRESHOLD from the phrase.
 *
 * GUESS_THRESHOLD was calibrated with `charades community calibrate` (calibrate.ts) on the motion data's 289
 * annotation records (USE use-en-energetic-0.2.0): phrase vs its own template sentences as positives (289
 * pairs), phrase vs sentences of other actions as negatives (78,636 pairs), maximising TPR − FPR with the
 * false-accept rate capped at 1 %. Result: 0.76 → 83.4 % of paraphrases accepted, 0.9 % of other actions
 * accepted, 19.6 % of same-action/other-style sentences accepted. (Caps of 0.5 / 2 / 5 % gave 0.795 / 0.72 / 0.66.)
 */
import type { SentenceEncoder } from '../motion/text/index.js';
import { cosine } from '../motion/index.js';
import { normalisePhrase } from './text.js';

export const GUESS_THRESHOLD = 0.76;

export interface GuessVerdict {
  correct: boolean;
  exact: boolean;
  /** Cosine of the guess and the phrase (1 for an exact match). */
  similarity: number;
}

export class GuessMatcher {
  private readonly phraseVectors = new Map<string, Float32Array>();

  constructor(
    private readonly encoder: () => Promise<SentenceEncoder>,
    readonly threshold = GUESS_THRESHOLD,
  ) {
    if (!(threshold > 0 && threshold <= 1)) throw new Error(`guess threshold must be in (0, 1], got ${threshold}`);
  }

  async judge(guess: string, phrase: string): Promise<GuessVerdict> {
    const g = normalisePhrase(guess);
    const p = normalisePhrase(phrase);
    if (!g) return { correct: false, exact: false, similarity: 0 };
    if (g === p) return { correct: true, exact: true, similarity: 1 };
    const encoder = await this.encoder();
    let pv = this.phraseVectors.get(p);
    if (!pv) {
      [pv] = await encoder.embed([p]);
      this.phraseVectors.set(p, pv);
    }
    const [gv] = await encoder.embed([g]);
    const similarity = cosine(gv, pv);
    return { correct: similarity >= this.threshold, exact: false, similarity };
  }
}

export interface HintPolicy {
  /** A hint after every this many wrong guesses. */
  every: number;
  max: number;
}

/** How many hints a round should have shown after `wrong` wrong guesses. */
export function hintsDue(wrong: number, policy: HintPolicy): number {
  return Math.min(policy.max, Math.floor(wrong / policy.every));
}
