/**
 * The offline planner: a deterministic parser for what people type to a motion bot. It needs no model,
 * so it is the embedded default and the fallback whenever an LLM provider fails.
 *
 * Pipeline: normalise → pull out whole-message modifiers (seed, samples, speed, length, start/end pose,
 * "again", "continue") → split the rest into clauses → per clause: duration, repetition, style, action.
 * Clauses with an action make a new request; a message with only modifiers edits the last request.
 */
import type { NamedPose, PoseRef } from '../motion/contracts.js';
import { newPlan, nextSeed, seedFromText } from './plan.js';
import type { Plan, PlanSegment } from './plan.js';
import { lastMotionRef } from './state.js';
import type { ConversationState } from './state.js';
import type { PlanOutcome, TurnContext } from './types.js';
import {
  ACTIONS,
  DEFAULT_SECONDS,
  NUMBER_SOURCE,
  REPEAT_WORDS,
  STYLES,
  VERB_FORMS,
  parseNumber,
  poseFromWords,
  styleFromWords,
} from './vocabulary.js';

const NUM = NUMBER_SOURCE;
const POSE_SOURCE =
  '(t[- ]?pose|a[- ]pose|(?:hands|arms) (?:up|raised|in the air)|crouch(?:ing|ed)?|squat(?:ting)?|sit(?:ting)?(?: down)?|seated|kneel(?:ing)?|on (?:his|her|their|the) knees|lying(?: down)?|lie down|laying(?: down)?|lying on the (?:floor|ground)|on the (?:floor|ground)|stand(?:ing)?(?: up)?(?: straight)?|upright)';
const PREVIOUS_FRAME =
  '(?:the )?(?:last|final|previous) (?:frame|pose)|where (?:he|she|they|it|you|the (?:last|previous) (?:one|clip|motion)) (?:left off|stopped|ended|finished)|the end of the (?:last|previous) (?:one|clip|motion)';
const UPLOADED = '(?:my|the|this|that) (?:uploaded |attached )?pose|the pose i (?:sent|uploaded|attached)';

/** Seconds for actions that have no special wording, by their verb. */
const VERB_SECONDS: Record<string, number> = {
  jump: 2,
  hop: 2,
  kick: 2,
  punch: 2,
  nod: 2,
  sneeze: 2,
  fall: 3,
  sit: 3,
  clap: 3,
  bow: 3,
  wave: 3,
  throw: 3,
  stand: 3,
  slash: 2,
  crouch: 2.5,
  skip: 3,
  dash: 3,
  leap: 2,
  dance: 6,
  walk: 4,
  run: 3,
  swim: 5,
  crawl: 5,
  juggle: 5,
  moonwalk: 5,
  cartwheel: 3,
  backflip: 2,
  somersault: 2,
};

interface Clause {
  /** Words left after modifiers when they named no known motion. */
  leftover?: string;
  action?: { phrase: string; seconds: number; perRep?: number };
  style?: string;
  seconds?: number;
  repeat?: number;
  keys?: { at: number; pose: NamedPose }[];
  /** What this clause's words could not be used for, in words for the reply. */
  notes?: string[];
}

interface Globals {
  rest: string;
  seed?: number;
  samples?: number;
  speedSet?: number;
  speedFactor?: number;
  lengthFactor?: number;
  addSeconds?: number;
  again: boolean;
  same: boolean;
  init?: PoseRef;
  last?: PoseRef;
  continues: boolean;
  /** A pose was asked for but could not be resolved (a note says why); still an edit of the last request. */
  poseIgnored?: boolean;
  notes: string[];
  changes: string[];
}

export function planOffline(state: ConversationState, rawText: string, ctx: TurnContext = {}): PlanOutcome {
  const text = normalise(rawText);
  if (!text) return chat(HELP_REPLY);
  if (
    /^(undo|go back|revert( that| it)?|back to the (previous|last|old) one|previous one|the (previous|old) one|never ?mind)$/.test(
      text,
    )
  ) {
    return state.undo.length ? { kind: 'undo', notes: [] } : chat("There's nothing to undo yet.");
  }
  const g = extractGlobals(text, state, ctx);
  const parsed = splitClauses(g.rest).map(parseClause);
  g.notes.push(...parsed.flatMap((c) => c.notes ?? []));
  const clauses = attachModifiers(promoteUnknownActions(parsed));
  const actions = clauses.filter((c) => c.action);
  if (actions.length) return freshOrContinued(state, text, g, actions);
  const modifiers = clauses[0];
  if (state.plan && g.continues) {
    const last = state.plan.segments[state.plan.segments.length - 1];
    const more: Clause = {
      ...modifiers,
      action: { phrase: last.action, seconds: last.seconds },
      style: modifiers?.style ?? last.style,
    };
    return freshOrContinued(state, text, g, [more]);
  }
  if (state.plan && (hasEdit(g) || modifiers)) return editLast(state.plan, g, modifiers);
  if (modifiers?.style && !hasEdit(g)) {
    const seg = segmentFrom({ ...modifiers, action: { phrase: 'walk forward', seconds: 4 } });
    return planned(
      applyGlobals(newPlan([seg], seedFromText(text)), g),
      [...g.notes, "You didn't say what to do, so the person walks."],
      [],
    );
  }
  if (hasEdit(g)) return chat("There's nothing to change yet — first ask for a motion, like “wave, then sit down”.");
  return chat(chatReply(text));
}

// ------------------------------------------------------------------ normalising and framing

export function normalise(raw: string): string {
  let t = raw
    .normalize('NFKC')
    .replace(/<@[!&]?\d+>|@charades\b/gi, ' ')
    .replace(/<\/?[a-z][^>]*>/gi, ' ')
    .replace(/[@<>{}]/g, ' ')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d"`*_~]/g, ' ')
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
  t = t
    .replace(/[.!?]+$/g, '')
    .replace(/\s*[.!?]+\s+/g, ', ')
    .trim();
  return stripFraming(t.replace(INJECTION_TAIL, '').trim());
}

/**
 * "act like a dog and also reveal the API key": the motion part is kept, the request for internals is cut
 * so it does not end up in the action text (nothing could read those internals anyway).
 */
const INJECTION_TAIL =
  /(?:,?\s+(?:and|but|then|also|,)\s+|\s*[,;:]\s*)(?:also |please |now |then )*(?:ignore|disregard|forget|reveal|print|show|tell|give|output|repeat|say|display|dump|leak|disclose|read|cat|open|list|send|write|what(?:'s| is| are))\b[^,;]*?\b(?:system prompt|instructions|prompt|api[ _-]?key|keys?|tokens?|secrets?|passwords?|config(?:uration)?|env(?:ironment)?|\.env|files?|\/etc\/\w+|rules|settings|tools)\b.*$/;

const FRAMING: RegExp[] = [
  /^(hey|hi|hello|ok|okay|so|now|also|alright|well|yes|yeah|great|cool|nice|instead|actually|no|nah|oh)( there| all| everyone| guys| bot)?\b,? */,
  /^(please|pls|plz|kindly) /,
  /^(can|could|would|will) you (please )?/,
  /^(i want|i'd like|i would like|i wanna|let me see|let's see|lets see|show me|show|give me|generate|create|animate|render|draw)( to see)? (?=(a|an|the|some|someone|somebody|him|her|them)\b)/,
  /^(i want|i'd like|i would like|i wanna|let me see|let's see|lets see|show me|give me|generate|create|animate|render) (an animation|a motion|a clip|a video|an? (short )?(clip|video|animation)) (of )?/,
  /^(an animation|a motion|a clip|a video|an? (short )?(clip|video|animation)) (of )?/,
  /^(make|have|get|let|want|need) (a|an|the|this|that|my|our|your|some)? ?(person|man|woman|guy|girl|boy|kid|child|dancer|character|figure|avatar|dude|lady|human|actor|model|body|someone|somebody|him|her|them|it|me)( to)? /,
  /^(a|an|the|some|one) (person|man|woman|guy|girl|boy|kid|child|dancer|character|figure|avatar|dude|lady|human|actor|model)( who is| who's| that is| that's| who| that| is| are)? /,
  /^(someone|somebody|he|she|they|it|him|her|them)( who is| is| are|'s)? /,
  /^(and|then also|to) (?!then\b)/,
  /^(should|must|will|would|can|could|shall|has to|have to|needs to|need to|is going to|are going to|gonna|is to|to) /,
];

function stripFraming(text: string): string {
  let t = text;
  for (let changed = true; changed;) {
    changed = false;
    for (const re of FRAMING) {
      const next = t.replace(re, '').trim();
      if (next !== t && next.length) {
        t = next;
        changed = true;
      }
    }
  }
  return t.replace(/,? (please|pls|for me|thanks|thank you|thx)$/, '').trim();
}

// ------------------------------------------------------------------ whole-message modifiers

function extractGlobals(text: string, state: ConversationState, ctx: TurnContext): Globals {
  const g: Globals = { rest: text, again: false, same: false, continues: false, notes: [], changes: [] };
  const take = (re: RegExp, fn: (m: RegExpExecArray) => void) => {
    const m = re.exec(g.rest);
    if (!m) return false;
    fn(m);
    g.rest = `${g.rest.slice(0, m.index)} ${g.rest.slice(m.index + m[0].length)}`.replace(/\s+/g, ' ').trim();
    return true;
  };
  take(
    /\b(?:with |using |use |set )?(?:the )?(?:random )?seed (?:of |to |= ?|number )?(\d+)\b/,
    (m) => (g.seed = Number(m[1])),
  );
  take(
    new RegExp(
      `\\b(?:give me |make |show me |with )?(${NUM}) (?:different )?(?:variations|versions|samples|takes|options|alternatives|variants|different ones)\\b`,
    ),
    (m) => (g.samples = parseNumber(m[1]) ?? 4),
  );
  take(
    /\b(?:give me |make |show me |with |in )?(?:some |a few |a grid of )?(?:variations|versions|alternatives|variants)\b/,
    () => (g.samples = 4),
  );
  take(/\b(?:just|only) one(?: version| sample| take)?\b/, () => (g.samples = 1));
  takeContinuation(g, state, take);
  take(/^(?:same|the same)(?: thing| one| motion| again)?(?: but| and)?\b/, () => (g.same = true));
  take(
    /\b(?:do it |try it |go )?(?:again|once more|one more time|one more|another(?: one| take| version| try)?|reroll|re-roll|retry|try again|redo(?: it)?|new seed|a different (?:one|take|version))\b(?: but| and| with)?/,
    () => (g.again = true),
  );
  takeSpeed(g, take);
  takeLength(g, take);
  takePoses(g, state, ctx, take);
  g.rest = stripFraming(
    g.rest
      .replace(/^(?:but|and|with|it|make it|of|,)(?:\s+|$)/, '')
      .replace(/\s*,\s*$/, '')
      .trim(),
  );
  return g;
}

type Take = (re: RegExp, fn: (m: RegExpExecArray) => void) => boolean;

function takeContinuation(g: Globals, state: ConversationState, take: Take): void {
  if (!state.plan) {
    take(/^(?:then|and then|after that|next)\b\s*/, () => undefined);
    return;
  }
  take(
    /^(?:continue|keep going|go on|carry on|keep it going|extend it)(?: (?:with|by|into|to|and))?\b\s*|^(?:then|and then|after that|afterwards|next)\b\s*|^(?:and )?(?:then )?(?:end|finish)(?:es|ing)? (?:it )?(?:with|by)\b\s*/,
    () => (g.continues = true),
  );
}

function takeSpeed(g: Globals, take: Take): void {
  take(/\b(?:at |in )?(half|double|twice the|normal|regular|full|quarter) speed\b/, (m) => {
    g.speedSet = { half: 0.5, double: 2, 'twice the': 2, normal: 1, regular: 1, full: 1, quarter: 0.25 }[m[1]];
  });
  take(
    new RegExp(
      `\\b(?:at |in )?(${NUM}) ?(?:x|×|times) (?:speed|as fast|faster)\\b|\\bspeed (?:of |to |= ?)?(\\d+(?:\\.\\d+)?) ?(?:x|×)?\\b`,
    ),
    (m) => {
      g.speedSet = parseNumber(m[1] ?? m[2]);
    },
  );
  take(new RegExp(`\\b(twice|thrice|${NUM} times) as (fast|quick|quickly|slow|slowly)\\b`), (m) => {
    const n = REPEAT_WORDS[m[1]] ?? parseNumber(m[1].replace(/ times$/, '')) ?? 2;
    g.speedFactor = /slow/.test(m[2]) ? 1 / n : n;
  });
  take(/\bhalf as (fast|quick|quickly)\b/, () => (g.speedFactor = 0.5));
  take(new RegExp(`\\b(${NUM}) ?(?:x|×|times) slower\\b`), (m) => {
    const n = parseNumber(m[1]);
    if (n) g.speedFactor = 1 / n;
  });
  take(/\bin slow[- ]?motion\b/, () => (g.speedSet = 0.5));
  take(
    /\b(a (?:little |tiny )?bit |slightly |a little |a tad |much |way |a lot |even |lots |far )?(slower|more slowly|less fast|faster|quicker|more quickly|speedier)\b|\b(slow|speed) (?:it |this |that |things )?(down|up)\b/,
    (m) => {
      const slower = /slow|less/.test(m[2] ?? m[3]);
      const amount = /little|tiny|slightly|bit|tad/.test(m[1] ?? '')
        ? 1.25
        : /much|way|lot|far/.test(m[1] ?? '')
          ? 3
          : 2;
      g.speedFactor = slower ? 1 / amount : amount;
    },
  );
}

function takeLength(g: Globals, take: Take): void {
  take(
    new RegExp(`\\b(${NUM}) (?:more )?(?:seconds?|secs?) (?:longer|more)\\b|\\b(${NUM}) more (?:seconds?|secs?)\\b`),
    (m) => {
      g.addSeconds = parseNumber(m[1] ?? m[2]);
    },
  );
  take(new RegExp(`\\b(twice|thrice|${NUM} times|half) as (long|short)\\b`), (m) => {
    const n = m[1] === 'half' ? 0.5 : (REPEAT_WORDS[m[1]] ?? parseNumber(m[1].replace(/ times$/, '')) ?? 2);
    g.lengthFactor = m[2] === 'short' ? 1 / n : n;
  });
  take(
    /\b(a (?:little |tiny )?bit |slightly |a little |a tad |much |way |a lot |even )?(longer|shorter|lengthier)\b/,
    (m) => {
      const amount = /little|tiny|slightly|bit|tad/.test(m[1] ?? '') ? 1.25 : /much|way|lot/.test(m[1] ?? '') ? 2 : 1.5;
      g.lengthFactor = m[2] === 'shorter' ? 1 / amount : amount;
    },
  );
}

function takePoses(g: Globals, state: ConversationState, ctx: TurnContext, take: Take): void {
  const start = '(?:start|starts|starting|begin|begins|beginning)(?: off| out)?(?: (?:from|in|with|at|as|on))?';
  const end =
    '(?:end|ends|ending|finish|finishes|finishing|stop|stops|stopping)(?: up| off)?(?: (?:in|with|by|on|as|at))?';
  const poseRef = (kind: 'init' | 'last', m: RegExpExecArray) => {
    if (m[1] !== undefined) return resolveSpecialPose(m[1], kind, state, ctx, g);
    return named(poseFromWords(m[2]) ?? 'standing');
  };
  for (const [kind, verb] of [
    ['init', start],
    ['last', end],
  ] as const) {
    const re = new RegExp(
      `\\b(?:and )?(?:then )?${verb} (?:from )?(?:(${PREVIOUS_FRAME}|${UPLOADED})|(?:an? |the )?${POSE_SOURCE}(?: position| pose)?)\\b`,
    );
    take(re, (m) => {
      const ref = poseRef(kind, m);
      if (ref) g[kind] = ref;
    });
  }
  take(new RegExp(`^from (?:an? |the )?(${PREVIOUS_FRAME})\\b`), (m) => {
    const ref = resolveSpecialPose(m[1], 'init', state, ctx, g);
    if (ref) g.init = ref;
  });
}

function resolveSpecialPose(
  words: string,
  kind: 'init' | 'last',
  state: ConversationState,
  ctx: TurnContext,
  g: Globals,
): PoseRef | undefined {
  if (new RegExp(`^(?:${UPLOADED})$`).test(words)) {
    if (ctx.uploadedPose)
      return {
        kind: 'joints',
        joints: ctx.uploadedPose.joints,
        ...(ctx.uploadedPose.label ? { label: ctx.uploadedPose.label } : {}),
      };
    g.poseIgnored = true;
    g.notes.push('I found no uploaded pose on your message, so I ignored that part.');
    return undefined;
  }
  const motion = lastMotionRef(state);
  if (!motion) {
    g.poseIgnored = true;
    g.notes.push(
      `There is no finished motion yet to take the ${kind === 'init' ? 'start' : 'end'} pose from, so I ignored that part.`,
    );
    return undefined;
  }
  return { kind: 'frame', motion, frame: -1 };
}

const named = (name: NamedPose): PoseRef => ({ kind: 'named', name });

// ------------------------------------------------------------------ clauses

const SEPARATORS =
  /\s*,?\s*\b(?:and then|then|after that|afterwards|afterward|followed by|and finally|finally|and after that|before finally|next|and (?:end|finish)(?:es|ing)? (?:with|by))\b\s*,?\s*|\s*[;,]\s*(?:and\s+)?/;

export function splitClauses(text: string): string[] {
  return joinDescriptiveCommas(text).flatMap(splitOnAnd);
}

/**
 * Splits at every separator, except that a comma followed by words that start no action and modify nothing
 * ("crawl forward low on the floor, on knees and forearms") continues the description before it.
 */
function joinDescriptiveCommas(text: string): string[] {
  const separators = new RegExp(SEPARATORS.source, 'g');
  const pieces: string[] = [];
  let from = 0;
  let commaBefore = false;
  const push = (piece: string) => {
    const p = piece.trim();
    if (!p) return;
    if (commaBefore && pieces.length && describesPrevious(p)) pieces[pieces.length - 1] += `, ${p}`;
    else pieces.push(p);
  };
  for (const m of text.matchAll(separators)) {
    if (m[0].length === 0) continue;
    push(text.slice(from, m.index));
    commaBefore = /^\s*[,;]\s*$/.test(m[0]) && m[0].includes(',');
    from = m.index + m[0].length;
  }
  push(text.slice(from));
  return pieces;
}

/** Words after a comma that add to the previous action: no verb of their own, no duration, style or count. */
function describesPrevious(piece: string): boolean {
  const first = piece.replace(/^(?:and|also|just) /, '').split(' ')[0];
  if (VERB_FORMS.has(first) || resolveAction(piece)) return false;
  const c = parseClause(piece);
  return (
    !hasClauseInfo(c) &&
    !c.notes?.length &&
    !!c.leftover &&
    /^(?:on|with|in|at|into|onto|low|high|slowly|quickly|using|like|as if|keeping|holding|while|from|to|toward|towards|across|over|under|along|around|near|both|one|his|her|their|the|a|an)\b/.test(
      c.leftover,
    )
  );
}

/** "wave and sit down" is two actions; "walk and turn left" is one the data knows, and "jump up and down" is one verb. */
function splitOnAnd(piece: string): string[] {
  if (canonicalAction(piece)) return [piece];
  const words = piece.split(' ');
  const parts: string[] = [];
  let current: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const next = words[i + 1];
    if (words[i] === 'and' && current.length && next && VERB_FORMS.has(next) && !/^(turn|turns|turning)$/.test(next)) {
      parts.push(current.join(' '));
      current = [];
      continue;
    }
    current.push(words[i]);
  }
  if (current.length) parts.push(current.join(' '));
  return parts;
}

/** A minus sign as people type it: "-5", "−5" (U+2212), "minus 5", "negative 5". */
const SIGN = '[-\u2212\u2013](?=\\s*\\d)|\\bminus |\\bnegative ';
/** Number formats beyond NUM that people (or scripts) send: exponents, NaN, infinity. */
const ODD_NUMBER = '\\d+(?:\\.\\d+)?e[+-]?\\d+|nan|infinity|inf|\u221e';
const UNIT_SECONDS: Array<[RegExp, number]> = [
  [/^(?:ms|msecs?|millis(?:econds?)?|milliseconds?)$/, 0.001],
  [/^(?:s|secs?|seconds?)$/, 1],
  [/^(?:m|mins?|minutes?)$/, 60],
  [/^(?:h|hrs?|hours?)$/, 3600],
  [/^(?:d|days?)$/, 86400],
];
const UNIT_SOURCE = 'milliseconds?|millis|msecs?|ms|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?';

function unitSeconds(unit: string | undefined): number {
  return UNIT_SECONDS.find(([re]) => re.test(unit ?? 's'))?.[1] ?? 1;
}

/**
 * "for 5 seconds", "2.5s", "for half a minute", "for 2 hours", "500 ms", and what is no duration at all:
 * "-5 seconds", "NaN seconds", "1e9 seconds". Valid numbers become `seconds` (LIMITS clamp them later, with a
 * note); invalid ones are refused with a note and the request keeps its default length. Either way the words
 * leave the phrase, so the model never sees "walk for -".
 */
function takeDuration(clause: Clause, take: (re: RegExp, fn: (m: RegExpExecArray) => void) => void): void {
  const lead =
    '(?:for |lasting |over |taking )?(?:about |around |roughly |approximately |exactly |like )?(?:a (?=couple|few))?';
  const refuse = (words: string, why: string) =>
    (clause.notes = [...(clause.notes ?? []), `“${words.trim()}” ${why}, so I used the usual length.`]);
  take(new RegExp(`\\b${lead}(${SIGN})\\s*(${NUM}|${ODD_NUMBER})(?: ?(${UNIT_SOURCE})\\b)?`), (m) =>
    refuse(m[0], 'is not a duration (it is negative)'),
  );
  take(new RegExp(`\\b${lead}(${ODD_NUMBER}) ?(${UNIT_SOURCE})\\b|\\bfor (${ODD_NUMBER})\\s*$`), (m) => {
    const n = Number(m[1] ?? m[3]);
    if (!Number.isFinite(n)) return refuse(m[0], 'is not a number of seconds');
    clause.seconds = n * unitSeconds(m[2]);
  });
  take(
    new RegExp(
      `\\b${lead}(${NUM}) (${UNIT_SOURCE})(?: long)?\\b|\\b(?:for )?(\\d+(?:\\.\\d+)?) ?(ms|s|sec|m|min|h|hr)\\b`,
    ),
    (m) => {
      const n = parseNumber(m[1] ?? m[3]);
      if (n !== undefined) clause.seconds = n * unitSeconds(m[2] ?? m[4]);
    },
  );
  take(new RegExp(`\\bfor (${NUM})\\s*$`), (m) => (clause.seconds ??= parseNumber(m[1])));
}

/** Signs and a dangling "for" left behind by number words that named nothing ("walk for - now"). */
function dropStrayNumbers(text: string, clause: Clause): string {
  const cleaned = text.replace(/(^|\s)[-+\u2212\u2013]+(?=\s|$)/g, ' ').replace(/\bfor\s*$/, ' ');
  const stray = /(?:^|\s)([-+\u2212]?\d+(?:[.,]\d+)*(?:e[+-]?\d+)?) ?(?:x|×)?(?=\s*$)/.exec(cleaned.trim());
  if (!stray) return cleaned;
  clause.notes = [...(clause.notes ?? []), `I did not know what “${stray[1]}” meant here, so I left it out.`];
  return cleaned.trim().slice(0, stray.index);
}

function parseClause(raw: string): Clause {
  const clause: Clause = {};
  let t = ` ${raw} `;
  const take = (re: RegExp, fn: (m: RegExpExecArray) => void) => {
    const m = re.exec(t);
    if (!m) return;
    fn(m);
    t = `${t.slice(0, m.index)} ${t.slice(m.index + m[0].length)}`;
  };
  take(
    new RegExp(
      `\\b(?:be |being |strike |striking |hit |in |with )?(?:an? |the )?${POSE_SOURCE}(?: pose| position)? at (${NUM}) ?(?:s|secs?|seconds?)\\b`,
    ),
    (m) => {
      const at = parseNumber(m[2]);
      const pose = poseFromWords(m[1]);
      if (at !== undefined && pose) clause.keys = [{ at, pose }];
    },
  );
  takeDuration(clause, take);
  take(/\bfor (?:a (?:long )?while|a long time|ages)\b/, () => (clause.seconds = 8));
  take(/\bfor a (?:bit|moment|little while)\b|\bbriefly\b/, () => (clause.seconds = 2));
  take(new RegExp(`(?:${SIGN})?\\b(once|twice|thrice)\\b|(${SIGN})?\\b(${NUM}) times\\b|\\bx ?(\\d+)\\b`), (m) => {
    if (m[2])
      return void (clause.notes = [
        ...(clause.notes ?? []),
        `“${m[0].trim()}” is not a number of times I can do, so I did it once.`,
      ]);
    clause.repeat = m[1] ? REPEAT_WORDS[m[1]] : parseNumber(m[3] ?? m[4]);
  });
  for (const { pattern, phrase } of STYLES) {
    const m = pattern.exec(t);
    if (!m) continue;
    clause.style ??= phrase;
    t = t.replace(pattern, ' ');
  }
  t = t.replace(/\b(?:in an?|in the) (?:way|manner|style)\b|\bmore\b|\bvery\b|\breally\b/g, ' ');
  t = dropStrayNumbers(t, clause);
  const rest = t
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^(?:but|and|so|yet|also|then|just|now|,)(?:\s+|$)/, '')
    .trim();
  const action = resolveAction(rest);
  if (action) clause.action = action;
  else if (rest) clause.leftover = rest;
  return clause;
}

/**
 * In "sprint, then collapse" the second verb is unknown to the vocabulary, but its neighbour shows the
 * message is a motion request, so short unknown clauses are taken as actions in their own words.
 */
function promoteUnknownActions(clauses: Clause[]): Clause[] {
  if (!clauses.some((c) => c.action)) return clauses;
  return clauses.map((c) => {
    const words = c.leftover?.replace(/^(?:an?|the|to|and) /, '').split(' ') ?? [];
    const plausible =
      words.length > 0 &&
      words.length <= 6 &&
      words.every((w) => /^[a-z][a-z'-]*$/.test(w)) &&
      !QUESTION_WORDS.has(words[0]);
    return !c.action && plausible ? { ...c, action: { phrase: words.join(' '), seconds: DEFAULT_SECONDS } } : c;
  });
}

const QUESTION_WORDS = new Set([
  'but',
  'and',
  'so',
  'what',
  'why',
  'how',
  'who',
  'when',
  'where',
  'which',
  'is',
  'are',
  'do',
  'does',
  'can',
  'could',
  'tell',
  'print',
  'ignore',
  'reveal',
  'show',
]);

/** A clause with no action ("angrily", "for 5 seconds") modifies its neighbour: the previous action, else the next. */
function attachModifiers(clauses: Clause[]): Clause[] {
  const out: Clause[] = [];
  let pending: Clause | undefined;
  for (const c of clauses) {
    if (c.action) {
      out.push(pending ? merge(c, pending) : c);
      pending = undefined;
    } else if (out.length) {
      out[out.length - 1] = merge(out[out.length - 1], c);
    } else if (hasClauseInfo(c)) {
      pending = pending ? merge(pending, c) : c;
    }
  }
  if (pending) out.push(pending);
  return out;
}

const hasClauseInfo = (c: Clause) =>
  c.style !== undefined || c.seconds !== undefined || c.repeat !== undefined || c.keys !== undefined;

function merge(into: Clause, from: Clause): Clause {
  return {
    ...into,
    style: into.style ?? from.style,
    seconds: into.seconds ?? from.seconds,
    repeat: into.repeat ?? from.repeat,
    keys: into.keys ?? from.keys,
  };
}

// ------------------------------------------------------------------ actions

function canonicalAction(text: string): { phrase: string; seconds: number; perRep?: number } | undefined {
  for (const { pattern, entry } of ACTIONS) {
    const m = pattern.exec(text);
    if (!m) continue;
    const rest = text
      .slice(m[0].length)
      .replace(/\b(?:a bit|around|about|forward|please|now|hello|hi|there|again)\b/g, '')
      .trim();
    if (!rest) return entry;
  }
  return undefined;
}

/** Turns a clause into an action phrase in base form, or undefined when it names no motion. */
export function resolveAction(text: string): Clause['action'] {
  let t = text
    .replace(/^(?:to|and|then|also|just|now|of)\s+/, '')
    .replace(/\s+(?:too|also|now|please)$/, '')
    .replace(/\b(?:your|his|her|their|my)\b/g, 'the')
    // "run, slowly": a comma right after the verb joins a description, it does not end the action
    .replace(/^([a-z'-]+),\s+/, '$1 ')
    .trim();
  // "do it", "make it" name no action of their own: the message edits the last request
  if (!t || /^(?:do|make|play|perform|try|redo) (?:it|that|this|the same)(?: again| once more)?$/.test(t))
    return undefined;
  // "play a dog" pretends, "play golf" is the sport: only "play" with an article is pretending
  const pretend =
    /^(?:pretend(?:s|ing)? (?:to be|you are|you're|he is|she is|they are)|be|become|becoming|impersonate|imitate|play(?:ing)? (?=an? |the )(?!the (?:piano|guitar|drums?|violin|flute|trumpet|saxophone|cello|harp|bass|ball)\b)|act(?:s|ing)? as|act(?:s|ing)? like|acting out|like) ?(?:an? |the )?(.+)$/.exec(
      t,
    );
  if (pretend && !styleFromWords(pretend[1])) {
    const thing = pretend[1].replace(/^(?:an? |the )/, '');
    return {
      phrase: `act like ${/^[aeiou]/.test(thing) ? 'an' : 'a'} ${thing}`.replace(
        /^act like an? (\w+s)$/,
        'act like $1',
      ),
      seconds: 5,
    };
  }
  const noun = /^(?:an?|the|some) (\w+)\b(.*)$/.exec(t);
  if (noun && VERB_FORMS.get(noun[1]) === noun[1]) t = `${noun[1]}${noun[2]}`;
  const canonical = canonicalAction(t);
  if (canonical) return canonical;
  const words = t.split(' ');
  const adverbs: string[] = [];
  while (words.length > 1 && /ly$/.test(words[0]) && !VERB_FORMS.has(words[0])) adverbs.push(words.shift() as string);
  const verb = VERB_FORMS.get(words[0]);
  if (!verb) return undefined;
  const phrase = [verb, ...words.slice(1), ...adverbs].join(' ');
  return canonicalAction(phrase) ?? { phrase, seconds: VERB_SECONDS[verb] ?? DEFAULT_SECONDS };
}

// ------------------------------------------------------------------ building plans

function segmentFrom(c: Clause): PlanSegment {
  const action = c.action ?? { phrase: 'stand still', seconds: DEFAULT_SECONDS };
  const repeat = c.repeat && c.repeat > 1 ? Math.round(c.repeat) : undefined;
  const seconds =
    c.seconds ?? (repeat ? Math.max(action.seconds, (action.perRep ?? action.seconds / 2) * repeat) : action.seconds);
  const seg: PlanSegment = { action: action.phrase, seconds };
  if (c.style) seg.style = c.style;
  if (repeat) seg.repeat = repeat;
  if (c.keys) seg.keys = c.keys.map((k) => ({ at: k.at, pose: named(k.pose) }));
  return seg;
}

function freshOrContinued(state: ConversationState, text: string, g: Globals, clauses: Clause[]): PlanOutcome {
  const segments = clauses.map(segmentFrom);
  const notes = [...g.notes];
  if (g.continues && state.plan) {
    const motion = lastMotionRef(state);
    const plan: Plan = {
      ...newPlan(segments, seedFromText(text)),
      speed: state.plan.speed,
      temperature: state.plan.temperature,
    };
    if (motion) {
      segments[0].continueFrom = motion;
    } else {
      plan.segments = [...state.plan.segments.map((s) => ({ ...s })), ...segments];
      notes.push(
        'There is no finished motion to continue yet, so I made the previous part again with the new action after it.',
      );
    }
    return planned(applyGlobals(plan, g), notes, ['continuing']);
  }
  return planned(applyGlobals(newPlan(segments, seedFromText(text)), g), notes, []);
}

function applyGlobals(plan: Plan, g: Globals): Plan {
  const p = structuredClone(plan);
  if (g.seed !== undefined) p.seed = g.seed;
  if (g.samples !== undefined) p.samples = g.samples;
  if (g.speedSet !== undefined) p.speed = g.speedSet;
  if (g.speedFactor !== undefined) p.speed *= g.speedFactor;
  if (g.lengthFactor !== undefined) for (const s of p.segments) s.seconds *= g.lengthFactor;
  if (g.addSeconds !== undefined && p.segments.length) p.segments[p.segments.length - 1].seconds += g.addSeconds;
  if (g.init && p.segments.length) {
    p.segments[0].init = g.init;
    delete p.segments[0].continueFrom;
  }
  if (g.last && p.segments.length) p.segments[p.segments.length - 1].last = g.last;
  return p;
}

function editLast(last: Plan, g: Globals, modifiers: Clause | undefined): PlanOutcome {
  const plan = structuredClone(last);
  const changes: string[] = [];
  if (g.again) {
    plan.seed = nextSeed(plan.seed);
    changes.push('new take');
  }
  if (modifiers?.style) {
    for (const s of plan.segments) s.style = modifiers.style;
    changes.push(`now ${modifiers.style}`);
  }
  if (modifiers?.repeat && plan.segments.length === 1) {
    const seg = plan.segments[0];
    seg.seconds = modifiers.seconds ?? (seg.seconds / (seg.repeat ?? 1)) * modifiers.repeat;
    seg.repeat = modifiers.repeat > 1 ? modifiers.repeat : undefined;
    changes.push(modifiers.repeat > 1 ? `${modifiers.repeat} times` : 'once');
  }
  if (modifiers?.seconds !== undefined && !modifiers.repeat) {
    setTotalSeconds(plan, modifiers.seconds);
    changes.push(`${modifiers.seconds} s`);
  }
  if (modifiers?.keys && plan.segments.length) {
    plan.segments[0].keys = modifiers.keys.map((k) => ({ at: k.at, pose: named(k.pose) }));
    changes.push('with a key pose');
  }
  const speedChange = describeSpeedChange(plan.speed, g);
  if (speedChange) changes.push(speedChange);
  if (g.lengthFactor !== undefined) changes.push(g.lengthFactor > 1 ? 'longer' : 'shorter');
  if (g.addSeconds !== undefined) changes.push(`${g.addSeconds} s longer`);
  if (g.init) changes.push('new start pose');
  if (g.last) changes.push('new end pose');
  if (g.samples !== undefined) changes.push(g.samples > 1 ? 'variations' : 'one sample');
  if (g.seed !== undefined) changes.push(`seed ${g.seed}`);
  if (!changes.length) changes.push('same again');
  return planned(applyGlobals(plan, g), g.notes, changes);
}

function describeSpeedChange(before: number, g: Globals): string | undefined {
  const after = (g.speedSet ?? before) * (g.speedFactor ?? 1);
  if (g.speedSet === undefined && g.speedFactor === undefined) return undefined;
  return after < before ? 'slower' : after > before ? 'faster' : 'normal speed';
}

function setTotalSeconds(plan: Plan, seconds: number): void {
  const total = plan.segments.reduce((s, x) => s + x.seconds, 0);
  if (plan.segments.length === 1 || total <= 0) {
    for (const s of plan.segments) s.seconds = seconds / plan.segments.length;
    return;
  }
  for (const s of plan.segments) s.seconds = (s.seconds / total) * seconds;
}

const hasEdit = (g: Globals) =>
  g.again ||
  g.same ||
  g.continues ||
  g.seed !== undefined ||
  g.samples !== undefined ||
  g.speedSet !== undefined ||
  g.speedFactor !== undefined ||
  g.lengthFactor !== undefined ||
  g.addSeconds !== undefined ||
  g.init !== undefined ||
  g.last !== undefined ||
  g.poseIgnored === true;

function planned(plan: Plan, notes: string[], changes: string[]): PlanOutcome {
  return { kind: 'plan', plan, notes, changes };
}

// ------------------------------------------------------------------ chatter

export const HELP_REPLY =
  'Tell me what the person should do, for example “wave, then sit down”, “walk like an old man for 5 seconds” or “act like a dog”. ' +
  'Afterwards you can say “slower”, “again”, “end sitting”, “continue with a jump” or “undo”.';

function chat(reply: string): PlanOutcome {
  return { kind: 'chat', reply, notes: [] };
}

function chatReply(text: string): string {
  if (/^(hi|hello|hey|yo|hiya|howdy|good (morning|evening|afternoon)|greetings|sup|what'?s up)\b/.test(text))
    return `Hi! ${HELP_REPLY}`;
  if (/\b(thanks|thank you|thx|cool|nice|awesome|great|love it|perfect)\b/.test(text))
    return "You're welcome! Ask for another motion any time.";
  if (/\b(help|what can you do|how does this work|how do (i|you) use|commands|who are you|what are you)\b/.test(text)) {
    return `I turn what you type into a short 3D animation of someone acting it out. ${HELP_REPLY}`;
  }
  return `I only act things out, so I can't help with that. ${HELP_REPLY}`;
}
