/**
 * What a chat message becomes before any planner reads it: Discord pings removed (the rest is acted on and
 * nothing can be echoed back as a ping), decorated Unicode folded to plain letters (NFKC, combining marks
 * dropped: "𝔀𝓪𝓿𝓮", "ｗａｖｅ" and "w̶a̶v̶e̶" all read "wave"), and animal / action emoji turned into words.
 */

/** User, nickname, role and channel mentions, custom emoji, and the two mass pings. */
const MENTIONS = /<@[!&]?\d+>|<#\d+>|<a?:\w+:\d+>|@everyone\b|@here\b/gi;

/**
 * Emoji people use for what the person should do. Animals become the thing to act like, actions their verb.
 * Skin tones, gender signs and variation selectors are stripped first, so "🏃‍♀️" reads as "🏃".
 */
const EMOJI_WORDS: ReadonlyArray<[emoji: string[], kind: 'animal' | 'action', word: string]> = [
  [['🐶', '🐕', '🦮', '🐩'], 'animal', 'dog'],
  [['🐱', '🐈'], 'animal', 'cat'],
  [['🐒', '🐵'], 'animal', 'monkey'],
  [['🦍'], 'animal', 'gorilla'],
  [['🐔', '🐓', '🐥', '🐤'], 'animal', 'chicken'],
  [['🐦', '🕊'], 'animal', 'bird'],
  [['🐸'], 'animal', 'frog'],
  [['🐘'], 'animal', 'elephant'],
  [['🐍'], 'animal', 'snake'],
  [['🐴', '🐎'], 'animal', 'horse'],
  [['🐻'], 'animal', 'bear'],
  [['🐧'], 'animal', 'penguin'],
  [['🦘'], 'animal', 'kangaroo'],
  [['🐰'], 'animal', 'rabbit'],
  [['🦆'], 'animal', 'duck'],
  [['🦀'], 'animal', 'crab'],
  [['🐟', '🐠', '🐡'], 'animal', 'fish'],
  [['🧟'], 'animal', 'zombie'],
  [['🤖'], 'animal', 'robot'],
  [['👋'], 'action', 'wave'],
  [['🙌'], 'action', 'raise both hands'],
  [['🙋'], 'action', 'raise the right hand'],
  [['💃', '🕺', '👯'], 'action', 'dance'],
  [['🏃'], 'action', 'run'],
  [['🚶'], 'action', 'walk'],
  [['🥊', '👊', '🤛', '🤜'], 'action', 'punch'],
  [['⚽', '🦵'], 'action', 'kick'],
  [['🙇'], 'action', 'bow'],
  [['👏'], 'action', 'clap'],
  [['😴', '💤', '🛌'], 'action', 'sleep'],
  [['🪑'], 'action', 'sit on a chair'],
  [['🧘'], 'action', 'meditate'],
  [['🏊'], 'action', 'swim'],
  [['🤸'], 'action', 'do a cartwheel'],
  [['🧎'], 'action', 'kneel'],
  [['🐇'], 'action', 'hop'],
];

const EMOJI_MODIFIERS = /[\u{1F3FB}-\u{1F3FF}]|\uFE0E|\uFE0F|\u200D|\u2640|\u2642/gu;
const EMOJI_TO_WORDS = new Map(
  EMOJI_WORDS.flatMap(([emoji, kind, word]) => emoji.map((e) => [e, { kind, word }] as const)),
);
const ANY_EMOJI = /\p{Extended_Pictographic}/gu;

/** Removes pings; the words around them stay ("<@1> make him bow" → "make him bow"). */
export function stripMentions(text: string): string {
  return text
    .replace(MENTIONS, ' ')
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}

/** NFKC (fancy alphabets, full-width letters) and no combining marks (strike-through, Zalgo, accents). */
export function foldUnicode(text: string): string {
  return text
    .normalize('NFKC')
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .normalize('NFC');
}

/**
 * Emoji as words. An animal is "act like a dog" unless the sentence already names it ("act like a dog 🐶")
 * or the emoji stands where a noun goes ("walk like a 🐶"); an action emoji is its verb. Other emoji go.
 */
export function emojiToWords(text: string): string {
  const t = text.replace(EMOJI_MODIFIERS, '');
  let out = '';
  let i = 0;
  for (const m of t.matchAll(ANY_EMOJI)) {
    const at = m.index;
    const before = t.slice(i, at);
    out += before;
    i = at + m[0].length;
    const known = EMOJI_TO_WORDS.get(m[0]);
    if (!known) {
      out += ' ';
      continue;
    }
    const wordPattern = new RegExp(`\\b${known.word}s?\\b`, 'i');
    if (wordPattern.test(t.replace(ANY_EMOJI, ' '))) {
      out += ' ';
      continue;
    }
    const nounSlot = /\b(?:a|an|the|like|as|into)\s*$/i.test(out);
    out += ` ${known.kind === 'animal' && !nounSlot ? `act like ${/^[aeiou]/.test(known.word) ? 'an' : 'a'} ${known.word}` : known.word} `;
  }
  out += t.slice(i);
  return out.replace(/[ \t]{2,}/g, ' ').trim();
}

/** The whole clean-up, in the order that keeps each step simple: pings, emoji, Unicode, control characters. */
export function cleanInput(text: string): string {
  return foldUnicode(emojiToWords(stripMentions(text)))
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
