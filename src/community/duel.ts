/**
 * Blinded A/B duels. The duelled variable is Action-GPT expansion (the raw phrase, k = 0, against k = 4 LLM
 * descriptions) whenever descriptions can be had for the phrase; without them (no LLM configured and the
 * phrase not in the shipped cache) two classifier-free guidance scales are duelled instead, and the message
 * says so. Sides are assigned at random and revealed only when voting closes.
 */
import { randomInt } from 'node:crypto';
import type { DuelChoice, DuelVariant } from './store.js';

/** Looks up Action-GPT descriptions (the agent's ActionGptExpander has this shape). */
export interface DescriptionLookup {
  lookup(phrase: string): Promise<{ descriptions: string[]; source: string }>;
}

export type DuelVariable = 'expansion' | 'guidance';

export interface DuelPlan {
  variable: DuelVariable;
  /** Side A and side B, already shuffled. */
  a: DuelVariant;
  b: DuelVariant;
  /** One line for the duel message: what is compared (never which side is which). */
  about: string;
}

/** Guidance scales duelled without an LLM: 1 is the conditional model alone, 3 a strong push towards the text. */
export const GUIDANCE_DUEL = [1, 3] as const;

export const RAW_LABEL = 'k=0 (raw phrase)';

export async function planDuel(
  phrase: string,
  lookup: DescriptionLookup | undefined,
  pick: (n: number) => number = randomInt,
): Promise<DuelPlan> {
  let found: { descriptions: string[]; source: string } = { descriptions: [], source: 'none' };
  let why = 'no LLM is configured';
  if (lookup) {
    try {
      found = await lookup.lookup(phrase);
    } catch (err) {
      why = `the LLM failed (${(err as Error).message.slice(0, 120)})`;
    }
  }
  let pair: [DuelVariant, DuelVariant];
  let variable: DuelVariable;
  let about: string;
  if (found.descriptions.length > 0) {
    variable = 'expansion';
    const k = found.descriptions.length;
    pair = [
      { label: RAW_LABEL, k: 0 },
      { label: `k=${k} (Action-GPT, ${found.source})`, k, descriptions: found.descriptions },
    ];
    about = `Duelled: the raw phrase (k=0) against Action-GPT's k=${k} descriptions of it.`;
  } else {
    variable = 'guidance';
    pair = [
      { label: `guidance ${GUIDANCE_DUEL[0]}`, k: 0, guidance: GUIDANCE_DUEL[0] },
      { label: `guidance ${GUIDANCE_DUEL[1]}`, k: 0, guidance: GUIDANCE_DUEL[1] },
    ];
    about = `Duelled: classifier-free guidance ${GUIDANCE_DUEL[0]} vs ${GUIDANCE_DUEL[1]} — ${why}, so Action-GPT expansion (k=0 vs k=4) cannot be compared.`;
  }
  const [a, b] = pick(2) === 0 ? pair : [pair[1], pair[0]];
  return { variable, a, b, about };
}

/**
 * Why no duel can run with this generator, or null. Dataset retrieval (a bot with no trained model) looks the
 * phrase up and ignores both descriptions and guidance, so both sides would show the same clip.
 */
export function duelUnavailable(generatorName: string): string | null {
  if (generatorName !== 'retrieval') return null;
  return 'Duels compare two generations of the motion model, but this bot has no trained model (it shows the closest dataset clip), so both sides would be the same clip. Ratings and `/charades` still work.';
}

/** Which side (A/B) holds the expanded phrase; undefined for duels of another variable. */
export function expandedSide(a: DuelVariant, b: DuelVariant): 'A' | 'B' | undefined {
  if (a.k > 0 && b.k === 0) return 'A';
  if (b.k > 0 && a.k === 0) return 'B';
  return undefined;
}

export function revealText(a: DuelVariant, b: DuelVariant, tally: Record<DuelChoice, number>): string {
  const total = tally.A + tally.B + tally.N;
  const winner =
    tally.A === tally.B
      ? total
        ? 'a tie'
        : 'no votes'
      : tally.A > tally.B
        ? `**A** (${a.label}) wins`
        : `**B** (${b.label}) wins`;
  return `🔓 Revealed: A = ${a.label}, B = ${b.label} · votes A ${tally.A} · B ${tally.B} · neither ${tally.N} → ${winner}`;
}
