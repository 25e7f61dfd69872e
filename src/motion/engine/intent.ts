/**
 * What a segment's words ask of the body that can be checked on the joints: travel backwards or sideways, turn to
 * one side, spin, stay in place, get down to the floor or lie on it, use the left or the right hand or leg, hold a
 * hand up, leave the ground. The sentence encoder blurs exactly these words ("walk backwards" sits next to "walk",
 * "left hand" next to "right hand"), so best-of-N also asks each candidate whether it does what the words say,
 * prefers one that does (rerank.ts) and samples again when none does (engine.ts, looks).
 *
 * Agreement is graded in [−1, 1] (−1: the opposite, a walk forward for "walk backwards"; 0: neither; 1: clearly
 * what was asked), measured with the acting probes' own geometry (probes/checks.ts).
 */
import type { NamedPose } from '../contracts.js';
import { facing, yawDegrees } from '../probes/checks.js';
import { heightRange, maxReach } from '../limbs.js';
import { JOINT, NUM_JOINTS } from '../skeleton.js';
import { SIDES, textSide } from '../text/side.js';

export type Side = 'left' | 'right';

export type Intent =
  | { kind: 'travel'; direction: 'forward' | 'backward' | Side }
  | { kind: 'turn'; side: Side }
  | { kind: 'spin' }
  | { kind: 'in-place' }
  /**
   * Down at floor level somewhere in the segment: crawling, crouching, squatting, kneeling (`low`), or lying, which a
   * crouch does not show (`lying`: the pelvis near the floor).
   */
  | { kind: 'low'; depth: 'low' | 'lying' }
  /** hand: lifted higher than the other; fist: thrown further out (a punch); leg: swung higher (a kick, a knee lift). */
  | { kind: 'limb'; limb: 'hand' | 'fist' | 'leg'; side: Side }
  /** The asked wrist (or both) above the head, not just higher than the other: "lift your right arm above your head". */
  | { kind: 'above-head'; side: Side | 'both' }
  /**
   * The asked wrist held up over its shoulder for a good part of the segment: a wave or a raised hand, not only the
   * higher of two hands at the hips ("wave your left hand" kept with the wrist at the chest passes `limb`).
   */
  | { kind: 'hand-up'; side: Side }
  /** Both feet off the ground at some point: a jump, a hop, a leap, a skip ("hop in place" is in place and airborne). */
  | { kind: 'airborne' };

/** Scale of each agreement: the distance, angle or height difference that counts as clearly done. */
const TRAVEL_METRES = 0.5;
const TURN_DEGREES = 60;
const SPIN_DEGREES = 180;
const IN_PLACE_METRES = 1;
const LIMB_METRES = 0.2;
/** A wrist this far over the head is clearly raised above it; this far under, clearly not. */
const ABOVE_HEAD_METRES = 0.15;
/** Share of frames with the wrist over the shoulder that clearly is a raised hand (the acting probes' wave: 30 %). */
const HAND_UP_SHARE = 0.3;
/** Lift of the lowest joint over the ground that clearly is a flight phase (the acting probes' airborne: 0.15 m). */
const FLIGHT_METRES = 0.15;
/** Pelvis above the lowest joint: about 0.85 m standing, 0.6 m is floor level's upper bound (fidelity.ts), 0.35 m a squat. */
const STANDING_PELVIS_M = 0.85;
const FLOOR_SPAN_M = 0.25;
/**
 * Lying: the pelvis and the head both near the floor at once. The higher of the two over the lowest joint is about
 * 0.2 m lying and 0.45 m crawling on the forearms; a crouch or a squat keeps the head up at 0.9–1.1 m.
 */
const LYING_BODY_M = 0.25;
const HALF_LYING_M = 0.5;

const one = (re: RegExp, text: string): Side | undefined => {
  const m = text.match(re);
  return m ? (m[1] as Side) : undefined;
};

/** The one side the words name ("left" or "right"), or undefined for none or both (text/side.ts). */
function onlySide(text: string): Side | undefined {
  const id = textSide(text);
  return id === SIDES.left ? 'left' : id === SIDES.right ? 'right' : undefined;
}

/** The checkable intents of one segment's text (lower-cased words; style words are harmless). */
export function parseIntents(text: string): Intent[] {
  const t = text.toLowerCase();
  const out: Intent[] = [];
  const side = onlySide(t);
  if (/\b(turn(s|ing)? around|spin(s|ning)?|twirl(s|ing)?|pirouette|full circle|360)\b/.test(t))
    out.push({ kind: 'spin' });
  else {
    const turnSide = one(/\bturn(?:s|ing)?(?: (?:to )?(?:the|your|his|her|their))? (left|right)\b/, t);
    if (turnSide) out.push({ kind: 'turn', side: turnSide });
  }
  const moves = LOCOMOTION.test(t);
  if (/\b(back up|backs up|backing up|moonwalk(s|ing)?)\b/.test(t) || (moves && /\b(backwards?|in reverse)\b/.test(t)))
    out.push({ kind: 'travel', direction: 'backward' });
  else if (moves && /\b(forwards?|ahead)\b/.test(t) && !/\bin place\b/.test(t))
    out.push({ kind: 'travel', direction: 'forward' });
  else if (/\b(side-?steps?|side-?stepping|sideways|strafe|strafes|shuffle(s)? to the|steps? to the)\b/.test(t) && side)
    out.push({ kind: 'travel', direction: side });
  if (/\b(in place|on the spot|where you are|without moving)\b/.test(t)) out.push({ kind: 'in-place' });
  if (/\b(jump(s|ed|ing)?|hop(s|ped|ping)?|leap(s|t|ed|ing)?|skip(s|ped|ping)?)\b/.test(t))
    out.push({ kind: 'airborne' });
  if (FLOOR_WORDS.test(t)) out.push({ kind: 'low', depth: LYING_WORDS.test(t) ? 'lying' : 'low' });
  // one hand or leg doing more than the other: raises and waves lift it, punches throw it out, kicks swing it up
  if (side && !out.some((i) => i.kind === 'turn' || i.kind === 'travel')) {
    if (/\b(punch(es|ing)?|jab(s|bing)?|hook|uppercut|strike[s]?|hit(s|ting)?)\b/.test(t)) {
      out.push({ kind: 'limb', limb: 'fist', side });
      return out;
    }
    const lifts =
      /\b(raise[sd]?|raising|lift(s|ed|ing)?|wave[sd]?|waving|put(s|ting)?|hold(s|ing)?|kick(s|ed|ing)?)\b/.test(t);
    if (lifts && /\b(hand|arm|wrist|palm)\b/.test(t)) {
      out.push({ kind: 'limb', limb: 'hand', side });
      if (HAND_UP.test(t) && !ABOVE_HEAD.test(t)) out.push({ kind: 'hand-up', side });
    } else if (lifts && /\b(leg|foot|knee|kick|kicks)\b/.test(t)) out.push({ kind: 'limb', limb: 'leg', side });
  }
  if (ABOVE_HEAD.test(t) && /\b(hands?|arms?|wrists?|palms?)\b/.test(t)) {
    const both = /\b(both|two)\b/.test(t) || /\b(hands|arms)\b/.test(t);
    if (side || both) out.push({ kind: 'above-head', side: side ?? 'both' });
  }
  return out;
}

/** Words that hold a hand up: waving, raising, putting it up (not holding or lifting something). */
const HAND_UP =
  /\b(wave[sd]?|waving|raise[sd]?|raising|(put(s|ting)?|hold(s|ing)?) (your|the|his|her|their|a) (left |right )?(hand|arm) up)\b/;

/** A hand or arm held over the head, as the words say it. */
const ABOVE_HEAD = /\b(above|over) (your|the|his|her|their) heads?\b|\boverhead\b/;

/** Whether the words name an act done at floor level (lying, crawling, crouching, squatting, kneeling). */
export function namesFloorAct(text: string): boolean {
  return FLOOR_WORDS.test(text.toLowerCase());
}

/** Floor words that mean lying, where the body is flat rather than folded ("lay it down" is rare in requests). */
const LYING_WORDS = /\b(lie|lies|lying|lay|lays|laying|flat on (your|his|her|their|the) (back|belly|stomach|front))\b/;

/** Verbs that travel: "lean backwards" or "bow forward" is no request to go anywhere. */
const LOCOMOTION =
  /\b(walk|walks|walking|run|runs|running|jog|jogs|jogging|crawl|crawls|crawling|creep|creeps|jump|jumps|jumping|hop|hops|hopping|leap|leaps|skip|skips|skipping|march|marches|step|steps|move|moves|go|goes|dash|dashes|sprint|sprints|stride|strides|shuffle|shuffles|stomp|stomps|sneak|sneaks|limp|limps)\b/;

/** Words of acts done at floor level; "sit down" alone is a chair, "get up from the floor" ends standing. */
const FLOOR_WORDS =
  /\b(lie|lies|lying|lay|lays|laying|crawl(s|ing)?|crouch(es|ing)?|squat(s|ting)?|kneel(s|ing)?|knelt|on (all fours|(your|his|her|their) (hands and )?knees)|(sit(s|ting)?|sat) (down )?on the (floor|ground)|get(s)? down( low)?|go(es)? down low)\b/;

/**
 * The floor postures the words name and where they belong in the segment: `start` for the posture the body gets up
 * or goes from ("rises from a crouch", "gets up from lying on the floor"), `end` for the one it gets down into
 * ("lies down", "walks and then crouches down", "from a crouch to lying"), `through` for one it gets down into and up
 * from again ("lie down and then get up").
 * The engine pins them as pose controls when no sampled candidate gets down by itself (engine.ts, posture look).
 */
export interface FloorPostures {
  start?: NamedPose;
  through?: NamedPose;
  end?: NamedPose;
}

export function floorPostures(text: string): FloorPostures {
  const t = text.toLowerCase();
  if (!FLOOR_WORDS.test(t)) return {};
  // A crawl is a gait, not a posture: pinned at its ends, a candidate that does not crawl stood up and ran between them.
  if (/\bcrawl(s|ing)?\b/.test(t)) return {};
  // "from a crouch", "out of a squat": the clause up to "to", "into", "and" or "then" names where the body starts
  const from = t.match(/\b(?:from|out of)\b(.*?)(?=\b(?:to|into|and|then)\b|[,.;]|$)/);
  const start = from ? postureNamed(from[1]) : undefined;
  const rest = from ? t.replace(from[0], ' ') : t;
  const up = /\b(get(s|ting)? up|rise(s)?|rising|stand(s|ing)? up)\b/.exec(rest);
  if (up && !/\b(to|into)\b/.test(rest)) {
    const through = postureNamed(rest.slice(0, up.index));
    return { ...(start ? { start } : {}), ...(through ? { through } : {}) };
  }
  const end = postureNamed(rest);
  return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
}

/** The floor posture one stretch of words names, the flattest first (lying beats a crouch said on the way down). */
function postureNamed(words: string): NamedPose | undefined {
  if (LYING_WORDS.test(words) || /\bon the (floor|ground)\b.*\bflat\b/.test(words)) {
    if (/\bon (your|his|her|their|the) back\b/.test(words)) return 'lying-back';
    if (/\b(belly|stomach|front|face down)\b/.test(words)) return 'lying-front';
    return 'lying';
  }
  if (/\b(sit(s|ting)?|sat) (down )?on the (floor|ground)\b/.test(words)) return 'sitting-floor';
  if (/\bon (all fours|(your|his|her|their) hands and knees)\b/.test(words)) return 'on-all-fours';
  if (/\b(kneel(s|ing)?|knelt|on (your|his|her|their) knees)\b/.test(words)) return 'kneeling-up';
  if (/\bsquat(s|ting)?\b/.test(words)) return 'squatting';
  if (/\b(crouch(es|ing)?|get(s)? down|go(es)? down low)\b/.test(words)) return 'crouching';
  return undefined;
}

const POS = NUM_JOINTS * 3;
const clamp = (x: number) => Math.max(-1, Math.min(1, x));

/** Height of frame t's lowest joint: the ground under a standing body, a foot or a hand. */
function lowestJointHeight(joints: Float32Array, t: number): number {
  let m = Infinity;
  for (let k = 0; k < NUM_JOINTS; k++) m = Math.min(m, joints[t * POS + k * 3 + 1]);
  return m;
}

function maxHeight(joints: Float32Array, T: number, k: number): number {
  let m = -Infinity;
  for (let t = 0; t < T; t++) m = Math.max(m, joints[t * POS + k * 3 + 1]);
  return m;
}

/** Pelvis travel from the first frame to the last in the first frame's body axes: [forward, left]. */
function travel(joints: Float32Array, T: number): [number, number] {
  const [fx, fz] = facing(joints, 0);
  const p = JOINT.pelvis * 3;
  const dx = joints[(T - 1) * POS + p] - joints[p];
  const dz = joints[(T - 1) * POS + p + 2] - joints[p + 2];
  return [dx * fx + dz * fz, dx * fz - dz * fx];
}

const LIMB_JOINT = {
  hand: { left: JOINT.left_wrist, right: JOINT.right_wrist },
  fist: { left: JOINT.left_wrist, right: JOINT.right_wrist },
  leg: { left: JOINT.left_ankle, right: JOINT.right_ankle },
} as const;

/** How much a limb does, as `charades eval` judges sides (limbs.ts): wrist height, wrist reach, ankle swing. */
const LIMB_MEASURE = {
  hand: (j: Float32Array, T: number, k: number) => maxHeight(j, T, k),
  fist: (j: Float32Array, T: number, k: number) => maxReach(j, T, k),
  leg: (j: Float32Array, T: number, k: number) => heightRange(j, T, k),
} as const;

/** How far a motion (T×22×3 joints, its own first frame as the reference) does what one intent asks, in [−1, 1]. */
export function agreement(joints: Float32Array, intent: Intent): number {
  const T = joints.length / POS;
  if (T < 2) return 0;
  switch (intent.kind) {
    case 'travel': {
      const [forward, left] = travel(joints, T);
      const along = { forward, backward: -forward, left, right: -left }[intent.direction];
      const across = intent.direction === 'forward' || intent.direction === 'backward' ? left : forward;
      // a sidestep that drifts further forward than sideways is not a sidestep
      return clamp((along - Math.max(0, Math.abs(across) - Math.abs(along))) / TRAVEL_METRES);
    }
    case 'turn': {
      const yaw = yawDegrees(joints);
      const k = Math.min(5, T);
      let start = 0;
      let end = 0;
      for (let t = 0; t < k; t++) {
        start += yaw[t] / k;
        end += yaw[T - 1 - t] / k;
      }
      const change = end - start;
      return clamp((intent.side === 'left' ? change : -change) / TURN_DEGREES);
    }
    case 'spin': {
      const yaw = yawDegrees(joints);
      return clamp((Math.max(...yaw) - Math.min(...yaw)) / SPIN_DEGREES);
    }
    case 'in-place': {
      const p = JOINT.pelvis * 3;
      let far = 0;
      for (let t = 1; t < T; t++)
        far = Math.max(far, Math.hypot(joints[t * POS + p] - joints[p], joints[t * POS + p + 2] - joints[p + 2]));
      return clamp(1 - far / IN_PLACE_METRES);
    }
    case 'low': {
      // per frame, how high the pelvis (and, for lying, the head too) is over the lowest joint; the lowest frame counts
      let lowest = Infinity;
      for (let t = 0; t < T; t++) {
        const floor = lowestJointHeight(joints, t);
        const pelvis = joints[t * POS + JOINT.pelvis * 3 + 1];
        const body = intent.depth === 'lying' ? Math.max(pelvis, joints[t * POS + JOINT.head * 3 + 1]) : pelvis;
        lowest = Math.min(lowest, body - floor);
      }
      // 1 from a deep crouch down (flat on the floor when lying is asked), −1 standing (a crouch, when lying is asked)
      return intent.depth === 'lying'
        ? clamp((HALF_LYING_M - lowest) / (HALF_LYING_M - LYING_BODY_M))
        : clamp((STANDING_PELVIS_M - lowest) / FLOOR_SPAN_M - 1);
    }
    case 'above-head': {
      // the asked wrist's highest point against the head's, at its best frame; with both, the lower of the two
      const over = (wrist: number) => {
        let best = -Infinity;
        for (let t = 0; t < T; t++)
          best = Math.max(best, joints[t * POS + wrist * 3 + 1] - joints[t * POS + JOINT.head * 3 + 1]);
        return best;
      };
      const left = over(JOINT.left_wrist);
      const right = over(JOINT.right_wrist);
      const asked = intent.side === 'both' ? Math.min(left, right) : intent.side === 'left' ? left : right;
      return clamp(asked / ABOVE_HEAD_METRES);
    }
    case 'airborne': {
      // the ground is where the lowest joint usually is; a flight lifts even the lowest joint off it
      const lowest = Array.from({ length: T }, (_, t) => lowestJointHeight(joints, t)).sort((a, b) => a - b);
      const ground = lowest[Math.floor(0.1 * (T - 1))];
      return clamp((2 * (lowest[T - 1] - ground)) / FLIGHT_METRES - 1);
    }
    case 'hand-up': {
      const wrist = LIMB_JOINT.hand[intent.side];
      const shoulder = intent.side === 'left' ? JOINT.left_shoulder : JOINT.right_shoulder;
      let up = 0;
      for (let t = 0; t < T; t++) if (joints[t * POS + wrist * 3 + 1] > joints[t * POS + shoulder * 3 + 1]) up++;
      return clamp((2 * up) / T / HAND_UP_SHARE - 1);
    }
    case 'limb': {
      const otherSide = intent.side === 'left' ? 'right' : 'left';
      const measure = LIMB_MEASURE[intent.limb];
      const asked = measure(joints, T, LIMB_JOINT[intent.limb][intent.side]);
      const other = measure(joints, T, LIMB_JOINT[intent.limb][otherSide]);
      return clamp((asked - other) / LIMB_METRES);
    }
  }
}

/** Mean agreement over the intents (0 when the words ask nothing checkable). */
export function intentAgreement(joints: Float32Array, intents: readonly Intent[]): number {
  if (intents.length === 0) return 0;
  return intents.reduce((s, i) => s + agreement(joints, i), 0) / intents.length;
}
