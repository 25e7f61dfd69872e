/**
 * What a community phrase is allowed to be, and when two phrases (or a guess and a phrase) are the same:
 * normalisation for deduplication, the length limits, the profanity/abuse filter and the game's hints.
 */

export const PHRASE_LIMITS = { minChars: 3, maxChars: 80, maxWords: 12 } as const;

/**
 * Case, accents, spacing, punctuation and a leading subject ("a person", "someone") do not make a
 * different phrase: "A person waves!" and "waves" are one pool entry.
 */
export function normalisePhrase(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[’`]/g, "'")
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^(?:a person|someone|the person|somebody|a man|a woman|person) (?:is )?/, '')
    .trim();
}

// Leetspeak and stretched letters ("sh1iiit") are how filters get dodged; they are folded before matching.
const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
  '!': 'i',
};

function foldForFilter(text: string): string {
  return text
    .toLowerCase()
    .replace(/[013457@$!]/g, (c) => LEET[c] ?? c)
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/(\p{L})\1{2,}/gu, '$1$1');
}

/** Whole words that make a phrase unfit for a public pool (slurs, sexual terms, profanity). */
const BLOCKED_WORDS = [
  'fuck',
  'fucking',
  'fucker',
  'motherfucker',
  'shit',
  'bullshit',
  'cunt',
  'bitch',
  'bastard',
  'asshole',
  'arsehole',
  'dick',
  'cock',
  'pussy',
  'twat',
  'wanker',
  'whore',
  'slut',
  'porn',
  'porno',
  'nude',
  'naked',
  'sex',
  'sexy',
  'masturbate',
  'masturbating',
  'blowjob',
  'rape',
  'raping',
  'rapist',
  'molest',
  'nigger',
  'nigga',
  'faggot',
  'fag',
  'retard',
  'retarded',
  'tranny',
  'spic',
  'chink',
  'kike',
  'wetback',
  'nazi',
  'hitler',
];
/** Fragments blocked even inside longer words, because no innocent word contains them. */
const BLOCKED_FRAGMENTS = ['fuck', 'nigg', 'faggot', 'cunt'];
/** Phrases aimed at people rather than at a motion to act out. */
const ABUSE_PATTERNS: readonly RegExp[] = [/\bkill (?:yo)?urself\b/, /\bkys\b/, /\bsuicide\b/, /\bheil\b/];

export type PhraseProblem = { ok: true; text: string; norm: string } | { ok: false; reason: string };

function blockedWord(folded: string): string | undefined {
  const words = folded.split(/[^\p{L}]+/u).filter(Boolean);
  const hit = words.find((w) => BLOCKED_WORDS.includes(w) || BLOCKED_WORDS.includes(w.replace(/(\p{L})\1/gu, '$1')));
  return hit ?? BLOCKED_FRAGMENTS.find((f) => folded.replace(/[^\p{L}]/gu, '').includes(f));
}

/**
 * Checks a submission and returns its display text and normalised key, or one sentence saying what is
 * wrong. Links, mentions and code are refused outright: the pool is read aloud by the bot in public.
 */
export function checkPhrase(raw: string): PhraseProblem {
  const text = raw.replace(/\s+/g, ' ').trim();
  if (!text) return { ok: false, reason: 'The phrase is empty: say an action, e.g. "juggle three balls".' };
  if (text.length > PHRASE_LIMITS.maxChars)
    return { ok: false, reason: `The phrase is ${text.length} characters; the limit is ${PHRASE_LIMITS.maxChars}.` };
  if (/https?:\/\/|www\.|discord\.gg/i.test(text)) return { ok: false, reason: 'Links are not allowed in phrases.' };
  if (/<[@#&!:]|@everyone|@here|```/.test(text))
    return { ok: false, reason: 'Mentions and code are not allowed in phrases.' };
  const norm = normalisePhrase(text);
  if (norm.length < PHRASE_LIMITS.minChars || !/\p{L}{2}/u.test(norm))
    return {
      ok: false,
      reason: `The phrase needs at least ${PHRASE_LIMITS.minChars} letters of an action, e.g. "bow".`,
    };
  const words = norm.split(' ').length;
  if (words > PHRASE_LIMITS.maxWords)
    return { ok: false, reason: `The phrase has ${words} words; keep it to ${PHRASE_LIMITS.maxWords} or fewer.` };
  const folded = foldForFilter(text);
  if (blockedWord(folded) || ABUSE_PATTERNS.some((p) => p.test(folded)))
    return { ok: false, reason: 'That phrase is not allowed in the community pool (profanity or abuse filter).' };
  return { ok: true, text, norm };
}

/**
 * The hint after `level` rounds of wrong guesses: every word's first letter and length, with the first
 * `level - 1` words spelled out, so hints grow until the last one nearly gives the phrase away.
 */
export function hintFor(phrase: string, level: number): string {
  const words = normalisePhrase(phrase).split(' ').filter(Boolean);
  const shown = words.map((w, i) => (i < level - 1 ? w : `${w[0]}${'﹍'.repeat(Math.max(0, w.length - 1))}`));
  return `${words.length} word${words.length === 1 ? '' : 's'}: ${shown.join('  ')}`;
}
