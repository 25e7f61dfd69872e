/**
 * The side a text asks for. Sentence encoders place "wave the left hand" and "wave the right hand" almost on top
 * of each other (cosine 0.98 under USE), so models trained with `side_signal` also get this explicit side, parsed
 * here once for the embedding table (training) and the engine (inference) alike.
 */

/** Ids the GPT's side embedding uses (trainer/gpt.py SIDES): order matters, they are baked into the weights. */
export const SIDES = { none: 0, left: 1, right: 2, both: 3 } as const;
export type SideName = keyof typeof SIDES;
export type SideId = (typeof SIDES)[SideName];

const LEFT = /\bleft\b/i;
const RIGHT = /\bright\b/i;
// "right now", "right away", "all right", "that's right", "right here/there": "right" that names no side.
const NOT_A_SIDE =
  /\b(?:right (?:now|away|here|there|after|before|back|then|on|behind|in front)|all right|alright|that'?s right|you'?re right|right\?)\b/gi;

/** none / left / right / both, from the words "left" and "right" (not "right now" and friends). */
export function textSide(text: string): SideId {
  const cleaned = text.replace(NOT_A_SIDE, ' ');
  const left = LEFT.test(cleaned);
  const right = RIGHT.test(cleaned);
  if (left && right) return SIDES.both;
  if (left) return SIDES.left;
  if (right) return SIDES.right;
  return SIDES.none;
}

export function sideName(id: number): SideName {
  const name = (Object.keys(SIDES) as SideName[]).find((k) => SIDES[k] === id);
  if (!name) throw new Error(`unknown side id ${id}; sides are ${JSON.stringify(SIDES)}`);
  return name;
}
