/**
 * The pantomime lexicon: what chat users ask for that no motion data holds (animals, everyday acts, sports,
 * emotions), each written as a sequence of things the model does well — its data's own phrases — with the
 * named postures pinned as start, key and end poses so the posture shows whatever the text alone would give.
 *
 * Shares are fractions of the requested duration; key poses sit at fractions of their step. `summary` is the
 * one line the reply uses to say what was substituted.
 */
import type { NamedPose } from '../motion/contracts.js';

export interface PantomimeStep {
  /** A phrase the data holds (canonical wording, so the Action-GPT cache and the text encoder know it). */
  text: string;
  /** Fraction of the requested duration this step takes. */
  share: number;
  init?: NamedPose;
  last?: NamedPose;
  /** Key poses at fractions (0–1) of the step. */
  keys?: Array<[at: number, pose: NamedPose]>;
  /**
   * A still posture for the whole step: pinned at its start, its end and on every motion token in between
   * (0.2 s), so the model copies the pose's code throughout; sparse keys would leave the text's own motion
   * showing between them (a pin's reach ends halfway to the next).
   */
  hold?: NamedPose;
  /** Seconds between the hold's pins (default one motion token, 0.2 s): wider where the model cannot hold the pose itself. */
  holdEvery?: number;
  /**
   * Keep this step's end pose even though the next step starts pinned: where the model's own motion is slower
   * than the step (lying down takes the data 8 s), the hold would otherwise begin from a standing body.
   */
  pinEnd?: boolean;
  /** Action-GPT style descriptions of the body movements (an LLM's rewrite gives them; the lexicon relies on the cache). */
  descriptions?: string[];
}

export interface Pantomime {
  /** What is acted, for tests and logs ("dog"). */
  name: string;
  /** Matched against the planned action text (lower case, style words included). */
  pattern: RegExp;
  /** The honest line: "no dog data: crawling on all fours, then sitting back on the heels". */
  summary: string;
  steps: PantomimeStep[];
}

// data phrases the live model does well (see models/<version>/vocabulary.json)
const CRAWL = 'crawl forward low on the floor, on knees and forearms';
const CROUCH = 'crouch down';
const STILL = 'stand still';
const LIE = 'lie down on the floor';

/**
 * Moving in a posture (crawling on all fours): start, end and `parts − 1` evenly spaced keys pinned, the motion in
 * between (each pin holds about ±0.4 s; walking with the arms out needs 6 parts to keep them out).
 */
const along = (pose: NamedPose, parts = 4): Pick<PantomimeStep, 'init' | 'last' | 'keys'> => ({
  init: pose,
  last: pose,
  keys: Array.from({ length: parts - 1 }, (_, i): [number, NamedPose] => [
    Math.round(((i + 1) / parts) * 100) / 100,
    pose,
  ]),
});
/** Still in a posture for the whole step (sitting, lying, kneeling). */
const held = (pose: NamedPose, every?: number): Pick<PantomimeStep, 'hold' | 'holdEvery'> => ({
  hold: pose,
  ...(every ? { holdEvery: every } : {}),
});
/** Lowered into a posture: the step ends in it. */
const into = (pose: NamedPose): Pick<PantomimeStep, 'last'> => ({ last: pose });
/** Settles into a posture that closes the clip: reached by half the step and held to its end (pins blend over ±0.4 s). */
const settle = (pose: NamedPose): Pick<PantomimeStep, 'last' | 'keys'> => ({
  keys: [
    [0.5, pose],
    [0.75, pose],
  ],
  last: pose,
});

const ANIMALS: Pantomime[] = [
  {
    name: 'dog',
    pattern: /\b(dog|doggy|doggie|puppy|pup|hound|wolf)s?\b/,
    summary: 'no dog data: crawling on all fours, then sitting back on the haunches',
    steps: [
      { text: CRAWL, share: 0.7, ...along('on-all-fours') },
      { text: CROUCH, share: 0.3, init: 'on-all-fours', ...settle('squatting') },
    ],
  },
  {
    name: 'cat',
    pattern: /\b(cat|kitty|kitten|tiger|lion|leopard|panther)s?\b/,
    summary: 'no cat data: prowling on all fours, then curling up lying on the floor',
    steps: [
      { text: CRAWL, share: 0.65, ...along('on-all-fours') },
      { text: LIE, share: 0.35, init: 'on-all-fours', ...settle('lying-front') },
    ],
  },
  {
    name: 'gorilla',
    pattern: /\b(gorilla|ape|chimp|chimpanzee|orangutan)s?\b/,
    summary: 'no gorilla data: knuckle-walking on all fours, then rearing up with both arms raised',
    steps: [
      { text: CRAWL, share: 0.55, ...along('on-all-fours') },
      { text: 'raise both hands', share: 0.45, init: 'squatting', keys: [[0.6, 'arms-raised']] },
    ],
  },
  {
    name: 'monkey',
    pattern: /\b(monkey|baboon)s?\b/,
    summary: 'no monkey data: squatting low, hopping up with both arms raised, then squatting again',
    steps: [
      // squat pins inside a hop fight its flight phase (the pelvis jerks between them): the squats come around it
      { text: CROUCH, share: 0.3, ...into('squatting') },
      { text: 'hop', share: 0.25, init: 'squatting', keys: [[0.6, 'arms-raised']] },
      {
        text: CROUCH,
        share: 0.45,
        keys: [
          [0.3, 'squatting'],
          [0.6, 'squatting'],
        ],
        last: 'squatting',
      },
    ],
  },
  {
    name: 'bear',
    pattern: /\b(bear|grizzly|polar bear)s?\b/,
    summary: 'no bear data: lumbering on all fours, then rearing up with both arms raised',
    steps: [
      { text: CRAWL, share: 0.6, ...along('on-all-fours') },
      { text: 'raise both hands', share: 0.4, keys: [[0.7, 'arms-raised']] },
    ],
  },
  {
    name: 'chicken',
    pattern: /\b(chicken|hen|rooster|chick)s?\b/,
    summary: 'no chicken data: strutting, flapping both arms, then pecking with a bow',
    steps: [
      { text: 'walk forward energetically', share: 0.4 },
      { text: 'wave both hands', share: 0.35 },
      { text: 'bow', share: 0.25 },
    ],
  },
  {
    name: 'bird',
    pattern: /\b(bird|eagle|pigeon|seagull|parrot|crow|owl|butterfly|bat)s?\b|\bfly\b|\bflying\b|\bflap/,
    summary: 'no bird data: flapping both arms, spread wide and raised in turn, then running with the wings out',
    steps: [
      {
        text: 'wave both hands',
        share: 0.6,
        keys: [
          [0.15, 't-pose'],
          [0.35, 'arms-raised'],
          [0.55, 't-pose'],
          [0.75, 'arms-raised'],
          [0.95, 't-pose'],
        ],
      },
      { text: 'run forward', share: 0.4, keys: [[0.5, 't-pose']] },
    ],
  },
  {
    name: 'frog',
    pattern: /\b(frog|toad)s?\b/,
    summary: 'no frog data: squatting low, jumping up, then squatting again',
    steps: [
      // the data's leaps forward rarely leave the ground in a 1 s step; jumping up and down does
      { text: CROUCH, share: 0.3, ...into('squatting') },
      { text: 'jump up and down', share: 0.4 },
      { text: CROUCH, share: 0.3, ...settle('squatting') },
    ],
  },
  {
    name: 'elephant',
    pattern: /\b(elephant|mammoth|rhino|hippo)s?\b/,
    summary: 'no elephant data: heavy, slow steps like a giant, the hands joined and hanging in front like a trunk',
    steps: [
      { text: 'walk forward like a giant', share: 0.6, ...along('trunk') },
      { text: 'stand and swing the arms', share: 0.4, keys: [[0.5, 'trunk']], last: 'trunk' },
    ],
  },
  {
    name: 'snake',
    pattern: /\b(snake|serpent|worm|cobra|python|lizard|crocodile|alligator)s?\b|\bslither/,
    summary: 'no snake data: lying on the front and crawling low along the floor',
    steps: [
      { text: LIE, share: 0.3, ...into('lying-front'), pinEnd: true },
      { text: CRAWL, share: 0.7, ...along('lying-front', 5) },
    ],
  },
  {
    name: 'horse',
    pattern: /\b(horse|pony|donkey|zebra|deer|unicorn)s?\b|\bgallop/,
    summary: 'no horse data: galloping with big skips, then running',
    steps: [
      { text: 'skip forward energetically', share: 0.6 },
      { text: 'run forward', share: 0.4 },
    ],
  },
  {
    name: 'penguin',
    pattern: /\b(penguin)s?\b|\bwaddl/,
    summary: 'no penguin data: waddling with small steps, the arms held down at the sides',
    steps: [{ text: 'walk forward like a child', share: 1, keys: [[0.5, 'standing']] }],
  },
  {
    name: 'kangaroo',
    pattern: /\b(kangaroo|wallaby)s?\b/,
    summary: 'no kangaroo data: hopping forward on both feet',
    steps: [
      { text: 'hop', share: 0.5 },
      { text: 'jump', share: 0.5 },
    ],
  },
  {
    name: 'rabbit',
    pattern: /\b(rabbit|bunny|bunnies|hare)s?\b/,
    summary: 'no rabbit data: crouching, then hopping out of the crouch',
    steps: [
      { text: CROUCH, share: 0.3, ...into('squatting') },
      { text: 'hop', share: 0.4 },
      { text: CROUCH, share: 0.3, ...settle('squatting') },
    ],
  },
  {
    name: 'duck',
    pattern: /\b(duck|goose|geese)s?\b/,
    summary: 'no duck data: waddling forward in a low squat',
    steps: [
      { text: CROUCH, share: 0.25, ...into('squatting') },
      { text: 'walk forward', share: 0.75, ...along('squatting') },
    ],
  },
  {
    name: 'crab',
    pattern: /\b(crab|lobster|spider)s?\b/,
    summary: 'no crab data: side-stepping in a low squat',
    steps: [
      { text: CROUCH, share: 0.25, ...into('squatting') },
      { text: 'side-step to the left', share: 0.75, ...along('squatting') },
    ],
  },
  {
    name: 'fish',
    pattern: /\b(fish|shark|dolphin|whale|seal)(es)?\b/,
    summary: 'no fish data: lying on the floor, flopping from the front onto the back',
    steps: [
      { text: LIE, share: 0.4, ...into('lying-front') },
      {
        text: 'stand and sway from side to side',
        share: 0.6,
        init: 'lying-front',
        keys: [[0.5, 'lying-back']],
        last: 'lying-front',
      },
    ],
  },
  {
    name: 'zombie',
    pattern: /\b(zombie|mummy|undead|walking dead)s?\b/,
    summary: 'no zombie data: shuffling forward as if exhausted, the arms held straight out in front (pinned poses)',
    steps: [{ text: 'walk forward as if exhausted', share: 1, ...along('arms-forward', 6) }],
  },
];

const EVERYDAY: Pantomime[] = [
  {
    name: 'pick up',
    pattern:
      /\b(pick|picks|picking) (\w+ ){0,3}up\b|\b(reach|reaches|reaching|bend|bends|bending) down\b|\btouch (your|the) toes\b/,
    summary: 'little picking-up data (two box lifts): bending down until a hand reaches the floor (a pinned pose)',
    steps: [{ text: 'pick something up from the floor', share: 1, keys: [[0.45, 'reaching-down']] }],
  },
  {
    name: 'jump in place',
    pattern:
      /\b(hop|hops|hopping|jump|jumps|jumping|bounce|bounces|bouncing)\b.*\b(in place|on the spot|where you are)\b/,
    summary: 'no on-the-spot hopping data (its hops travel forward): jumping up and down in place instead',
    steps: [{ text: 'jump up and down in place', share: 1 }],
  },
  {
    name: 'sit on a chair',
    pattern:
      /^(sit|sits|sitting|sat)( down)?( on| in)? (a |the )?(chair|seat|bench|stool|sofa|couch)\b|^sit down$|^sit$|^(take|have|grab) a seat\b|^be seated\b/,
    summary: 'no sitting data: lowering down, then holding a seated pose (pelvis at chair height)',
    steps: [
      { text: CROUCH, share: 0.45, ...into('sitting-chair') },
      { text: STILL, share: 0.55, ...held('sitting-chair') },
    ],
  },
  {
    name: 'sit on the floor',
    // pinned every 0.6 s: the live model cannot hold this pose itself, and pins on every token make it jitter
    // (pelvis jerk 0.03 vs 0.18 m/frame², 8 seeds)
    pattern: /^(sit|sits|sitting|sat)( down)? on the (floor|ground)\b|\bcross-?legged\b/,
    summary: 'no floor-sitting data: lowering down, then holding a pose sitting on the floor',
    steps: [
      { text: CROUCH, share: 0.4, ...into('sitting-floor') },
      { text: STILL, share: 0.6, ...held('sitting-floor', 0.6) },
    ],
  },
  {
    name: 'sleep',
    pattern:
      /^(sleep|nap|snore|go to (sleep|bed)|fall asleep|rest)\b|^(take|have|get) (a (quick |short )?nap|some (sleep|rest))\b/,
    // on the front: the data lies down prone, and a still hold on the back is beyond the live model (it flickers)
    summary: 'no sleeping data: lying down on the floor and staying there',
    steps: [
      { text: LIE, share: 0.45, ...into('lying-front'), pinEnd: true },
      { text: LIE, share: 0.55, ...held('lying-front') },
    ],
  },
  {
    name: 'kneel',
    pattern: /^(kneel|pray|propose)\b|^get down on (one|both|the) knees?\b/,
    summary: 'no kneeling data: lowering down, then holding a pose kneeling upright',
    steps: [
      { text: CROUCH, share: 0.4, ...into('kneeling-up') },
      { text: STILL, share: 0.6, ...held('kneeling-up') },
    ],
  },
  {
    name: 'meditate',
    pattern: /^(meditate|do yoga)\b/,
    summary: 'no meditation data: sitting down on the floor and staying still',
    steps: [
      { text: CROUCH, share: 0.35, ...into('sitting-floor') },
      { text: STILL, share: 0.65, ...held('sitting-floor', 0.6) },
    ],
  },
  {
    name: 'eat or drink',
    pattern: /^(eat|drink|sip|bite|chew|have (a |some )?(meal|snack|drink|coffee|tea|water|lunch|dinner|breakfast))\b/,
    summary: 'no eating data: raising the right hand to the mouth, twice',
    steps: [
      { text: 'raise the right hand', share: 0.5 },
      { text: 'raise the right hand', share: 0.5 },
    ],
  },
  {
    name: 'phone call',
    pattern: /\b(phone|telephone|call someone|make a call|answer the phone|text|texting)\b/,
    summary: 'no phone data: raising the right hand to the ear, then looking around while talking',
    steps: [
      { text: 'raise the right hand', share: 0.4 },
      { text: 'stand and look around', share: 0.6 },
    ],
  },
  {
    name: 'brush teeth',
    pattern: /\bbrush\b.*\bteeth\b|\bbrush the hair\b|\bcomb\b/,
    summary: 'no grooming data: raising the right hand to the face and moving it back and forth',
    steps: [
      { text: 'raise the right hand', share: 0.35 },
      { text: 'wave the right hand', share: 0.65 },
    ],
  },
  {
    name: 'read',
    pattern: /^(read|study|look at) (a |the )?(book|newspaper|paper|letter|phone|map)\b|^read$/,
    summary: 'no reading data: holding both hands up in front, then standing still looking down',
    steps: [
      { text: 'raise both hands', share: 0.35 },
      { text: STILL, share: 0.65 },
    ],
  },
  {
    name: 'cry',
    pattern: /^(cry|sob|weep|act sad(ly)?|look sad|feel sad)\b/,
    summary: 'no crying data: standing with the head bowed sadly, then crouching down',
    steps: [
      { text: 'bow sadly', share: 0.5 },
      { text: 'crouch down sadly', share: 0.5 },
    ],
  },
];

const SPORTS: Pantomime[] = [
  {
    name: 'swim',
    pattern: /^(swim|swimming|do the (crawl|breaststroke)|breaststroke)\b/,
    summary: 'no swimming data: lying on the front and paddling forward along the floor',
    steps: [
      { text: LIE, share: 0.3, ...into('lying-front') },
      { text: CRAWL, share: 0.7, init: 'lying-front', keys: [[0.5, 'lying-front']] },
    ],
  },
  {
    name: 'golf',
    pattern: /\bgolf\b|\bswing a (club|bat)\b|\bbaseball\b|\bhit a ball\b/,
    summary: 'no golf data: a two-handed swing like a sword slash',
    steps: [
      { text: STILL, share: 0.3 },
      { text: 'slash as if with a sword', share: 0.7 },
    ],
  },
  {
    name: 'tennis',
    pattern: /\b(tennis|badminton|ping ?pong|squash)\b/,
    summary: 'no tennis data: side-stepping, then swinging like a sword slash',
    steps: [
      { text: 'side-step to the right', share: 0.4 },
      { text: 'slash as if with a sword', share: 0.6 },
    ],
  },
  {
    name: 'basketball',
    pattern: /\b(basketball|dunk|shoot a hoop|shoot hoops|volleyball)\b/,
    summary: 'no basketball data: running, then jumping with both arms raised as if shooting',
    steps: [
      { text: 'run forward', share: 0.45 },
      { text: 'jump', share: 0.55, keys: [[0.5, 'arms-raised']] },
    ],
  },
  {
    name: 'ski',
    pattern: /^(ski|skiing|snowboard|surf|skate|skateboard)\b/,
    summary: 'no skiing data: swaying from side to side in a low crouch',
    steps: [
      { text: CROUCH, share: 0.25, ...into('squatting') },
      { text: 'stand and sway from side to side', share: 0.75, ...along('crouching') },
    ],
  },
  {
    name: 'jumping jacks',
    pattern: /\bjumping jacks?\b|\bstar jumps?\b/,
    summary: 'no jumping-jack data: jumping with both arms raised overhead',
    steps: [
      { text: 'jump', share: 0.5, keys: [[0.5, 'arms-raised']] },
      { text: 'jump', share: 0.5, keys: [[0.5, 'arms-raised']] },
    ],
  },
  {
    name: 'push-ups',
    pattern: /\bpush-? ?ups?\b|\bplank\b/,
    summary: 'no push-up data: getting down on all fours, then lying down on the front and pushing up',
    steps: [
      { text: CROUCH, share: 0.3, ...into('on-all-fours') },
      {
        text: 'get up from lying on the floor into a crouch',
        share: 0.7,
        init: 'lying-front',
        keys: [[0.5, 'on-all-fours']],
      },
    ],
  },
];

const EMOTIONS: Pantomime[] = [
  {
    name: 'happy',
    pattern: /^(act |look |be |feel )?(happy|happily|joyful|excited|celebrate|cheer|laugh)\b/,
    summary: 'no "happy" action in the data: jumping, then waving both hands happily',
    steps: [
      { text: 'jump happily', share: 0.45 },
      { text: 'wave both hands happily', share: 0.55 },
    ],
  },
  {
    name: 'angry',
    pattern: /^(act |look |be |feel )?(angry|angrily|furious|mad|rage)\b|^(stomp|throw a tantrum)\b/,
    summary: 'no "angry" action in the data: stomping forward angrily, then punching the air',
    steps: [
      { text: 'walk forward angrily', share: 0.5 },
      { text: 'throw a punch angrily', share: 0.5 },
    ],
  },
  {
    name: 'scared',
    pattern: /^(act |look |be |feel )?(scared|afraid|frightened|terrified|fearful|cower|flinch|tremble)\b/,
    summary: 'no "scared" action in the data: backing away without confidence, then crouching down',
    steps: [
      { text: 'walk backwards without confidence', share: 0.55 },
      { text: CROUCH, share: 0.45, ...settle('crouching') },
    ],
  },
  {
    name: 'tired',
    pattern: /^(act |look |be |feel )?(tired|tiredly|exhausted|sleepy|yawn)\b/,
    summary: 'no "tired" action in the data: trudging forward as if exhausted',
    steps: [{ text: 'walk forward as if exhausted', share: 1 }],
  },
  {
    name: 'proud',
    pattern: /^(act |look |be |feel )?(proud|proudly|victorious|triumphant|win|victory)\b/,
    summary: 'no "proud" action in the data: walking proudly, then raising both hands',
    steps: [
      { text: 'walk forward proudly', share: 0.5 },
      { text: 'raise both hands proudly', share: 0.5, keys: [[0.6, 'arms-raised']] },
    ],
  },
  {
    name: 'surprised',
    pattern: /^(act |look |be |feel )?(surprised|shocked|startled|amazed)\b/,
    summary: 'no "surprised" action in the data: throwing both hands up, then stepping back',
    steps: [
      { text: 'raise both hands', share: 0.5, keys: [[0.5, 'arms-raised']] },
      { text: 'walk backwards', share: 0.5 },
    ],
  },
];

/**
 * Floor-level acts the data does hold, but in so few clips that words alone often leave the figure standing
 * (issue measurements: "lie down on the floor" kept the pelvis at 0.85 m): the posture is pinned so the act reaches
 * the floor, and the reply says so.
 */
const FLOOR: Pantomime[] = [
  {
    name: 'lie on the back',
    pattern: /^(lie|lay|lying|laying)( down)?( flat)? on (your|his|her|their|the|one's) back\b/,
    summary: 'little lying-down data: lying down, then held lying on the back (a pinned pose)',
    steps: [
      { text: LIE, share: 0.5, ...into('lying-back'), pinEnd: true },
      { text: LIE, share: 0.5, ...held('lying-back') },
    ],
  },
  {
    name: 'lie down',
    pattern:
      /^(lie|lay|lying|laying) (down|flat|on (the|your|his|her|their) (floor|ground|front|belly|stomach))\b|^lie$/,
    summary: 'little lying-down data: lying down on the floor, then held there (a pinned pose)',
    steps: [
      { text: LIE, share: 0.5, ...into('lying-front'), pinEnd: true },
      { text: LIE, share: 0.5, ...held('lying-front') },
    ],
  },
  {
    name: 'crawl',
    pattern:
      /^(crawl|crawls|crawling|creep|creeps|creeping)\b|^(get|go|move) (down )?on (all fours|(your|his|her|their) hands and knees)\b/,
    summary: 'little crawling data (two clips): crawling with the all-fours posture pinned along the way',
    steps: [{ text: CRAWL, share: 1, ...along('on-all-fours') }],
  },
  {
    name: 'squat',
    pattern: /^(squat|squats|squatting|do (a|some) squats?|get down low|get low|crouch( down)? low|duck down)\b/,
    summary: 'little squatting data: lowering into a squat, then held there (a pinned pose)',
    steps: [
      { text: CROUCH, share: 0.45, ...into('squatting') },
      { text: STILL, share: 0.55, ...held('squatting') },
    ],
  },
  {
    name: 'crouch',
    pattern: /^(crouch|crouches|crouching|hunker|hunkers)( down)?\b/,
    summary: 'little crouching data (two clips): lowering into a crouch, then held there (a pinned pose)',
    steps: [
      { text: CROUCH, share: 0.45, ...into('crouching') },
      { text: STILL, share: 0.55, ...held('crouching') },
    ],
  },
];

/** A pattern that needs every one of its parts somewhere in the action ("kick … left"), in any order. */
const allOf = (...parts: RegExp[]): RegExp => new RegExp(parts.map((p) => `(?=.*${p.source})`).join(''));
const LEFT = /\bleft\b/;
const RIGHT = /\bright\b/;
const KICK = /\bkick(s|ing)?\b/;
const KNEE = /\b(raise|raises|lift|lifts|bring|brings|pull|pulls)\b.*\bknees?\b|\bknees? (up|raise|lift)/;
const PUNCH = /\b(punch|punches|punching|jab|jabs|uppercut|hook punch)\b/;

/** A gesture at its peak twice in the step (a kick, a punch), with the model's own motion around the peaks. */
const twice = (pose: NamedPose): Pick<PantomimeStep, 'keys'> => ({
  keys: [
    [0.3, pose],
    [0.7, pose],
  ],
});

/**
 * The left and the right pantomime of a one-sided gesture ("left kick", "right kick"): the side named in the words
 * picks one; words that name no side go to the right one, the data's usual side, or to neither.
 */
function eachSide(
  gesture: string,
  words: RegExp,
  sideless: 'sideless is right' | 'sideless is neither',
  bySide: (side: 'left' | 'right') => Pick<Pantomime, 'summary' | 'steps'>,
): Pantomime[] {
  return [
    { name: `left ${gesture}`, pattern: allOf(words, LEFT), ...bySide('left') },
    {
      name: `right ${gesture}`,
      pattern: sideless === 'sideless is right' ? words : allOf(words, RIGHT),
      ...bySide('right'),
    },
  ];
}

/**
 * Limb gestures the data holds in one or two clips (one right kick, two punches) or in none (knee raises, claps,
 * boxing, arms held out): the gesture's peak is pinned as a key pose on the asked side, so the leg or fist gets there
 * whatever the text alone would give (the live model lifted no ankle above 0.6 m for "kick with your left leg").
 * A side-less kick is the data's right kick; a side-less punch alternates.
 */
const LIMBS: Pantomime[] = [
  ...eachSide('kick', KICK, 'sideless is right', (side) => ({
    summary: `little kicking data (one clip): kicks with the ${side} leg swung up to hip height (pinned poses)`,
    steps: [{ text: 'kick', share: 1, ...twice(`kick-${side}`) }],
  })),
  {
    name: 'high knees',
    pattern: /\bhigh knees\b|\bmarch(es|ing)? (in place|on the spot)\b|\bknee raises\b/,
    summary: 'no knee-raise data: marching with each knee lifted above the hip in turn (pinned poses)',
    steps: [
      {
        text: 'walk in place',
        share: 1,
        keys: [
          [0.2, 'knee-up-left'],
          [0.4, 'knee-up-right'],
          [0.6, 'knee-up-left'],
          [0.8, 'knee-up-right'],
        ],
      },
    ],
  },
  ...eachSide('knee', KNEE, 'sideless is right', (side) => ({
    summary: `no knee-raise data: the ${side} knee lifted above the hip, twice (pinned poses)`,
    steps: [{ text: STILL, share: 1, ...twice(`knee-up-${side}`) }],
  })),
  {
    name: 'boxing',
    pattern: /\bbox(es|ing|er)?\b|\bspar(s|ring)?\b|\bshadow ?box|\bfight(s|ing)?\b|\bpunches\b/,
    summary: 'no boxing data: fists up in guard, throwing left and right punches (pinned poses)',
    steps: [
      {
        text: 'throw a punch',
        share: 1,
        init: 'guard',
        keys: [
          [0.2, 'punch-left'],
          [0.35, 'guard'],
          [0.5, 'punch-right'],
          [0.65, 'guard'],
          [0.8, 'punch-left'],
        ],
        last: 'guard',
      },
    ],
  },
  // a side-less punch alternates (below)
  ...eachSide('punch', PUNCH, 'sideless is neither', (side) => ({
    summary: `little punching data (two clips): the ${side} fist thrown straight out from a guard, twice (pinned poses)`,
    steps: [{ text: 'throw a punch', share: 1, init: 'guard', ...twice(`punch-${side}`), last: 'guard' }],
  })),
  {
    name: 'punch',
    pattern: PUNCH,
    summary: 'little punching data (two clips): a left and a right punch from a guard (pinned poses)',
    steps: [
      {
        text: 'throw a punch',
        share: 1,
        init: 'guard',
        keys: [
          [0.3, 'punch-left'],
          [0.7, 'punch-right'],
        ],
        last: 'guard',
      },
    ],
  },
  {
    name: 'clap',
    pattern: /\b(clap|claps|clapping|applaud|applauds|applause)\b/,
    summary: 'no clapping data: the hands brought together in front of the chest, again and again (pinned poses)',
    steps: [
      {
        text: STILL,
        share: 1,
        keys: [
          [0.15, 'hands-together'],
          [0.35, 'hands-together'],
          [0.55, 'hands-together'],
          [0.75, 'hands-together'],
        ],
      },
    ],
  },
  {
    name: 'arms out in front',
    pattern: /\b(arms|hands) (straight )?(out )?(in front|forward)\b|\breach(es|ing)? (out|forward)\b/,
    summary: 'no arms-forward data: the arms held straight out in front (pinned poses)',
    steps: [{ text: STILL, share: 1, ...held('arms-forward', 0.6) }],
  },
];

/**
 * Turning on the spot: the data turns only while walking (about 200 clips each way), and the live model asked to
 * "turn right" stands facing ahead (turned 3–10° in 3 seeds) while "walk and turn right" turns 65–89°.
 */
const TURNS: Pantomime[] = (['left', 'right'] as const).map((side) => ({
  name: `turn ${side}`,
  pattern: new RegExp(
    `^(turn|turns|turning|rotate|rotates|pivot|pivots|face)( (to|towards))?( (the|your))? ${side}\\b`,
  ),
  summary: `no turning-on-the-spot data: a few steps turning to the ${side}`,
  steps: [{ text: `walk and turn ${side}`, share: 1 }],
}));

/** Most specific first: everyday acts and sports before animals ("sit like a dog" is still a dog). */
export const PANTOMIMES: readonly Pantomime[] = [
  ...EVERYDAY,
  ...SPORTS,
  ...ANIMALS,
  ...FLOOR,
  ...LIMBS,
  ...TURNS,
  ...EMOTIONS,
];

/** The pantomime for a planned action ("act like a dog angrily", "swim", "sit down"), if the lexicon has one. */
export function findPantomime(action: string): Pantomime | undefined {
  const text = action.toLowerCase().trim();
  return PANTOMIMES.find((p) => p.pattern.test(text));
}
