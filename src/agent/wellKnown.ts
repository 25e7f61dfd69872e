/**
 * What the model does well, by the data's own wording (hundreds of clips each, or ACCAD's clean takes), and
 * the lexical nearest of them to a request: what an unsure reply offers instead. Lexical on purpose: the
 * reply is composed after generation, where no text encoder is at hand, and the words of the request are
 * what the user will recognise in the offer.
 */
import type { MotionRequest } from '../motion/contracts.js';
import { findPantomime } from './pantomimes.js';
import { VERB_FORMS, styleFromWords } from './vocabulary.js';

export const WELL_KNOWN = [
  'walk forward',
  'walk backwards',
  'walk sideways to the left',
  'walk sideways to the right',
  'walk and turn left',
  'walk and turn right',
  'run forward',
  'run backwards',
  'dash forward at full speed',
  'skip forward',
  'jump',
  'hop',
  'leap forward',
  'wave the right hand',
  'wave the left hand',
  'wave both hands',
  'wave goodbye',
  'raise both hands',
  'raise the right hand',
  'raise the left hand',
  'bow',
  'kick',
  'throw a punch',
  'slash as if with a sword',
  'crouch down',
  'lie down on the floor',
  'crawl forward low on the floor, on knees and forearms',
  'get up from lying on the floor into a crouch',
  'bend down and pick up a box',
  'stand and look around',
  'stand and sway from side to side',
  'turn around',
] as const;

const STOP = new Set([
  'a',
  'an',
  'the',
  'to',
  'and',
  'of',
  'on',
  'with',
  'as',
  'if',
  'in',
  'at',
  'from',
  'into',
  'like',
  'then',
  'his',
  'her',
  'their',
]);

function words(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .replace(/[^a-z ]+/g, ' ')
      .split(' ')
      .filter((w) => w && !STOP.has(w))
      .map((w) => VERB_FORMS.get(w) ?? w.replace(/s$/, '')),
  );
}

function overlap(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / Math.max(1, Math.min(a.size, b.size));
}

const SIDES = /\b(left|right)\b/g;

/** Whether every segment already is something the model does well (a style aside): then only a new take can help. */
export function isWellKnown(request: MotionRequest): boolean {
  return request.segments.every((s) => WELL_KNOWN.some((phrase) => sameAct(s.text, phrase)));
}

/** Nothing but how it is done (a style, a repetition) follows the phrase. */
const onlyHow = (rest: string) => !rest || !!styleFromWords(rest) || /^(twice|\w+ times)\b/.test(rest);

/** The text is the phrase, perhaps with a style or repetition after it. */
function sameAct(text: string, phrase: string): boolean {
  return text === phrase || (text.startsWith(`${phrase} `) && onlyHow(text.slice(phrase.length).trim()));
}

/**
 * The well-known phrase sharing most words with the request; never the request itself, nor the same act on the
 * other side ("wave the left hand" is no offer for "wave the right hand"). Undefined if none shares a word.
 */
export function closestWellKnown(request: MotionRequest): string | undefined {
  const asked = request.segments.map((s) => s.text).join(' ');
  const pantomime = findPantomime(asked);
  if (pantomime) return pantomime.steps[0].text;
  const want = words(asked);
  const sideless = (t: string) => t.replace(SIDES, '').replace(/\s+/g, ' ').trim();
  let best: { phrase: string; score: number } | undefined;
  for (const phrase of WELL_KNOWN) {
    if (request.segments.some((s) => sameAct(sideless(s.text), sideless(phrase)))) continue;
    const score = overlap(want, words(phrase));
    if (score > 0 && (!best || score > best.score)) best = { phrase, score };
  }
  return best?.phrase;
}
