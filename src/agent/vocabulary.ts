/**
 * What the offline planner knows about English motion requests: action phrases (mapped onto the wording
 * of the motion data where one exists, so the text encoder and the Action-GPT cache recognise them), style
 * phrases (the data's 19 styles), number words and named poses.
 */
import type { NamedPose } from '../motion/contracts.js';

export interface ActionEntry {
  /** Canonical phrase in base form; the data's own wording where the data has the action. */
  phrase: string;
  /** Seconds for one plain performance. */
  seconds: number;
  /** Seconds per repetition when the user asks for "twice", "three times" … */
  perRep?: number;
}

/**
 * Ordered most specific first: the first pattern that matches a clause wins. Patterns run on the
 * lower-cased clause with the style, duration and pose words already removed.
 */
export const ACTIONS: Array<{ pattern: RegExp; entry: ActionEntry }> = [
  {
    pattern: /^wav(e|es|ing|ed) goodbye with big waves\b/,
    entry: { phrase: 'wave goodbye with big waves', seconds: 3, perRep: 1.5 },
  },
  {
    pattern: /^(wav(e|es|ing|ed) (good ?bye|bye)|say(s|ing)? (good ?bye|bye)|bid farewell)\b/,
    entry: { phrase: 'wave goodbye', seconds: 3, perRep: 1.5 },
  },
  {
    pattern: /^wav(e|es|ing|ed) (with )?(both|two) (hands|arms)\b/,
    entry: { phrase: 'wave both hands', seconds: 3, perRep: 1.5 },
  },
  {
    pattern: /^wav(e|es|ing|ed) (with )?(the |his |her |their |your )?left (hand|arm)\b/,
    entry: { phrase: 'wave the left hand', seconds: 3, perRep: 1.5 },
  },
  {
    pattern: /^wav(e|es|ing|ed)( (with )?(the |his |her |their |your )?(right )?(hand|arm))?( hello| hi)?\b/,
    entry: { phrase: 'wave the right hand', seconds: 3, perRep: 1.5 },
  },
  {
    pattern:
      /^(rais(e|es|ing|ed)|put(s|ting)? up|lift(s|ing|ed)?) (both|two|the|his|her|their|your)? ?(hands|arms)( up)?\b|^(hands|arms) up\b/,
    entry: { phrase: 'raise both hands', seconds: 3, perRep: 2 },
  },
  {
    pattern: /^(rais(e|es|ing|ed)|lift(s|ing|ed)?) (the |his |her |their |your )?left (hand|arm)\b/,
    entry: { phrase: 'raise the left hand', seconds: 3, perRep: 2 },
  },
  {
    pattern: /^(rais(e|es|ing|ed)|lift(s|ing|ed)?) (the |his |her |their |your |a |one )?(right )?(hand|arm)\b/,
    entry: { phrase: 'raise the right hand', seconds: 3, perRep: 2 },
  },
  { pattern: /^walk(s|ing|ed)? (backwards?|back)\b/, entry: { phrase: 'walk backwards', seconds: 4 } },
  {
    pattern: /^walk(s|ing|ed)? (sideways )?(to the )?left\b|^side-? ?step(s|ping)? (to the )?left\b/,
    entry: { phrase: 'walk sideways to the left', seconds: 3 },
  },
  {
    pattern: /^walk(s|ing|ed)? (sideways )?(to the )?right\b|^side-? ?step(s|ping)? (to the )?right\b/,
    entry: { phrase: 'walk sideways to the right', seconds: 3 },
  },
  { pattern: /^walk(s|ing|ed)? and turn(s|ing)? left\b/, entry: { phrase: 'walk and turn left', seconds: 4 } },
  { pattern: /^walk(s|ing|ed)? and turn(s|ing)? right\b/, entry: { phrase: 'walk and turn right', seconds: 4 } },
  {
    pattern: /^(walk(s|ing|ed)?|stroll(s|ing)?)( forwards?| around| about)?\b/,
    entry: { phrase: 'walk forward', seconds: 4 },
  },
  { pattern: /^(run(s|ning)?|ran) (backwards?|back)\b/, entry: { phrase: 'run backwards', seconds: 3 } },
  {
    pattern: /^(run(s|ning)?|ran|jog(s|ging)?)( forwards?| around| away)?\b/,
    entry: { phrase: 'run forward', seconds: 3 },
  },
  { pattern: /^(dash(es|ing)?|sprint(s|ing)?)\b/, entry: { phrase: 'dash forward at full speed', seconds: 3 } },
  { pattern: /^bow(s|ing|ed)?( down)?\b/, entry: { phrase: 'bow', seconds: 3, perRep: 2.5 } },
  { pattern: /^kick(s|ing|ed)?\b/, entry: { phrase: 'kick', seconds: 2, perRep: 1.5 } },
  {
    pattern: /^(punch(es|ing|ed)?|throw(s|ing)? a punch|box(es|ing)?)\b/,
    entry: { phrase: 'throw a punch', seconds: 2, perRep: 1 },
  },
  {
    pattern: /^(slash(es|ing)?|swing(s|ing)? a sword|sword fight(s|ing)?)\b/,
    entry: { phrase: 'slash as if with a sword', seconds: 2, perRep: 1.5 },
  },
  {
    pattern: /^(crouch(es|ing|ed)?|squat(s|ting|ted)?|duck(s|ing)?)( down)?\b/,
    entry: { phrase: 'crouch down', seconds: 2.5, perRep: 2 },
  },
  {
    pattern: /^(lie|lies|lying|lay|lays|laying) down\b|^(lie|lay) on the (floor|ground)\b/,
    entry: { phrase: 'lie down on the floor', seconds: 4 },
  },
  {
    pattern: /^crawl(s|ing|ed)? (backwards?|back)\b/,
    entry: { phrase: 'crawl backwards low on the floor, on knees and forearms', seconds: 5 },
  },
  {
    pattern: /^crawl(s|ing|ed)?\b/,
    entry: { phrase: 'crawl forward low on the floor, on knees and forearms', seconds: 5 },
  },
  { pattern: /^skip(s|ping|ped)?\b/, entry: { phrase: 'skip forward', seconds: 3 } },
  {
    pattern: /^(get(s|ting)?|got|stand(s|ing)?) up from the (floor|ground)\b/,
    entry: { phrase: 'get up from lying on the floor into a crouch', seconds: 3 },
  },
  { pattern: /^(stand(s|ing)? up|get(s|ting)? up|rise|rises|rising)\b/, entry: { phrase: 'stand up', seconds: 2.5 } },
  {
    pattern: /^(stand(s|ing)? still|stand(s|ing)? idle|idle|stand(s|ing)? there|wait(s|ing)?)\b/,
    entry: { phrase: 'stand still', seconds: 3 },
  },
  { pattern: /^(look(s|ing)? around)\b/, entry: { phrase: 'stand and look around', seconds: 4 } },
  {
    pattern: /^(pick(s|ing|ed)? up|lift(s|ing|ed)?) (a |the )?box\b/,
    entry: { phrase: 'bend down and pick up a box', seconds: 4 },
  },
  {
    pattern: /^(sit(s|ting)?|sat)( down)? (on|in) (a|the) (chair|seat|bench|stool|sofa|couch)$/,
    entry: { phrase: 'sit down on a chair', seconds: 3 },
  },
  {
    pattern: /^(sit(s|ting)?|sat)( down)? on the (floor|ground)$/,
    entry: { phrase: 'sit down on the floor', seconds: 3 },
  },
  { pattern: /^(sit(s|ting)?|sat) down\b|^(sit(s|ting)?|sat)$/, entry: { phrase: 'sit down', seconds: 3 } },
  { pattern: /^(jump(s|ing|ed)?)( up)?$/, entry: { phrase: 'jump', seconds: 2, perRep: 1.5 } },
  { pattern: /^(hop(s|ping|ped)?)$/, entry: { phrase: 'hop', seconds: 2, perRep: 1 } },
  { pattern: /^(leap(s|ing|ed)?)( forward)?$/, entry: { phrase: 'leap forward', seconds: 2, perRep: 1.5 } },
  { pattern: /^(dance|dances|dancing|danced)$/, entry: { phrase: 'dance', seconds: 6 } },
  {
    pattern: /^(clap(s|ping|ped)?)( (the |his |her |their )?hands)?$/,
    entry: { phrase: 'clap the hands', seconds: 3, perRep: 0.75 },
  },
  {
    pattern: /^(turn(s|ing)? around|spin(s|ning)? around|spin(s|ning)?)$/,
    entry: { phrase: 'turn around', seconds: 2.5, perRep: 2 },
  },
  { pattern: /^(nod(s|ding|ded)?)$/, entry: { phrase: 'nod', seconds: 2, perRep: 1 } },
];

/** Base-form motion verbs the planner accepts as the start of an action it has no special wording for. */
export const MOTION_VERBS = [
  'act',
  'applaud',
  'balance',
  'bend',
  'bounce',
  'bow',
  'box',
  'carry',
  'cartwheel',
  'celebrate',
  'cheer',
  'chop',
  'clap',
  'climb',
  'crawl',
  'cross',
  'crouch',
  'cry',
  'dance',
  'dash',
  'dig',
  'dive',
  'do',
  'dodge',
  'drink',
  'drive',
  'drop',
  'duck',
  'eat',
  'exercise',
  'fall',
  'fight',
  'fish',
  'flap',
  'flex',
  'float',
  'fly',
  'gallop',
  'get',
  'give',
  'go',
  'grab',
  'hammer',
  'hide',
  'hit',
  'hold',
  'hop',
  'hug',
  'hula',
  'imitate',
  'jog',
  'juggle',
  'jump',
  'kick',
  'kneel',
  'knock',
  'laugh',
  'lay',
  'lean',
  'leap',
  'lie',
  'lift',
  'limp',
  'look',
  'lunge',
  'march',
  'mime',
  'moonwalk',
  'move',
  'nod',
  'open',
  'paddle',
  'paint',
  'perform',
  'pick',
  'play',
  'point',
  'pose',
  'pray',
  'pretend',
  'pull',
  'punch',
  'push',
  'put',
  'raise',
  'reach',
  'roll',
  'row',
  'run',
  'salute',
  'scratch',
  'shake',
  'shiver',
  'shoot',
  'shout',
  'shrug',
  'sit',
  'skate',
  'ski',
  'skip',
  'slash',
  'sleep',
  'slide',
  'slip',
  'sneak',
  'sneeze',
  'spin',
  'sprint',
  'squat',
  'stagger',
  'stand',
  'step',
  'stomp',
  'stretch',
  'stroll',
  'stumble',
  'surf',
  'sway',
  'sweep',
  'swim',
  'swing',
  'take',
  'throw',
  'tiptoe',
  'touch',
  'trip',
  'turn',
  'twirl',
  'twist',
  'vault',
  'wait',
  'walk',
  'wash',
  'wave',
  'wiggle',
  'wobble',
  'yawn',
  'zigzag',
  'bake',
  'cook',
  'tap',
  'stir',
  'catch',
  'pedal',
  'ride',
  'bat',
  'golf',
  'limbo',
  'meditate',
  'crawl',
  'wander',
  'pace',
  'trot',
  'tumble',
  'squirm',
  'waddle',
  'conduct',
  'sing',
  'whistle',
  'aim',
  'block',
  'strike',
  'cower',
  'flinch',
  'tremble',
  'shuffle',
  'skid',
  'flip',
  'backflip',
  'somersault',
  'collapse',
  'faint',
  'twerk',
  'flail',
  'panic',
  'scream',
  'waltz',
  'breakdance',
  'floss',
  'dab',
  'shadowbox',
  'hobble',
  'strut',
  'swagger',
  'prance',
  'creep',
  'slither',
  'wriggle',
  'jiggle',
  'shimmy',
  'sashay',
  'rock',
  'bob',
  'gesture',
  'beckon',
  'signal',
  'greet',
  'kiss',
  'drum',
  'type',
  'write',
  'read',
  'call',
  'answer',
  'mop',
  'vacuum',
  'tango',
  'salsa',
  'zombie',
  'lurch',
  'stalk',
  'chase',
  'flee',
  'escape',
  'evade',
  'ponder',
  'think',
  'search',
  'peek',
  'bend',
  'stoop',
  'squeeze',
  'tug',
  'heave',
  'haul',
  'drag',
  'kneel',
  'crouch',
  'rest',
  'relax',
  'celebrate',
  'fist-pump',
  'keep',
  'talk',
  'brush',
  'nap',
  'snore',
  'sip',
  'bite',
  'chew',
  'phone',
  'text',
  'scroll',
] as const;

const IRREGULAR: Record<string, string> = {
  ran: 'run',
  sat: 'sit',
  lay: 'lie',
  lying: 'lie',
  laying: 'lay',
  fell: 'fall',
  got: 'get',
  went: 'go',
  took: 'take',
  threw: 'throw',
  swam: 'swim',
  flew: 'fly',
  dug: 'dig',
  drove: 'drive',
  ate: 'eat',
  hid: 'hide',
  held: 'hold',
  rode: 'ride',
  caught: 'catch',
  stood: 'stand',
  knelt: 'kneel',
  did: 'do',
  does: 'do',
  doing: 'do',
  goes: 'go',
  going: 'go',
  dove: 'dive',
  sang: 'sing',
  struck: 'strike',
  swung: 'swing',
  slid: 'slide',
  sprang: 'spring',
};

/** Every inflected form (walks, walking, walked, running, dancing …) of a motion verb, mapped to its base form. */
export const VERB_FORMS: ReadonlyMap<string, string> = buildVerbForms();

function buildVerbForms(): Map<string, string> {
  const forms = new Map<string, string>(Object.entries(IRREGULAR));
  for (const verb of MOTION_VERBS) {
    for (const form of inflect(verb)) if (!forms.has(form)) forms.set(form, verb);
  }
  return forms;
}

function inflect(verb: string): string[] {
  const out = [verb];
  out.push(
    /(s|sh|ch|x|z|o)$/.test(verb) ? `${verb}es` : /[^aeiou]y$/.test(verb) ? `${verb.slice(0, -1)}ies` : `${verb}s`,
  );
  const stem = verb.endsWith('ie')
    ? `${verb.slice(0, -2)}y`
    : verb.endsWith('e') && !verb.endsWith('ee')
      ? verb.slice(0, -1)
      : verb;
  const doubled = /^[^aeiou]*[aeiou][bdgmnprt]$/.test(verb) ? verb + verb.slice(-1) : stem;
  out.push(`${doubled}ing`, `${stem}ing`, `${doubled}ed`, `${stem}ed`, `${stem}d`);
  return out;
}

/** Style phrase as the data words it, keyed by what people write. Comparatives serve "same but happier". */
export const STYLES: Array<{ pattern: RegExp; phrase: string }> = [
  {
    pattern: /\b(angrily|angry|angrier|furiously|furious|mad|madly|in (an )?anger|rage|enraged|annoyed)\b/,
    phrase: 'angrily',
  },
  {
    pattern: /\b(happily|happy|happier|joyfully|joyful|cheerfully|cheerful|gleefully|gladly|excitedly|excited)\b/,
    phrase: 'happily',
  },
  {
    pattern: /\b(sadly|sad|sadder|unhappily|unhappy|gloomily|gloomy|depressed|miserably|sorrowfully)\b/,
    phrase: 'sadly',
  },
  { pattern: /\b(as if exhausted|exhausted|exhaustedly|worn out)\b/, phrase: 'as if exhausted' },
  { pattern: /\b(tiredly|tired|tireder|more tired|wearily|weary|sleepily|sleepy)\b/, phrase: 'tiredly' },
  {
    pattern:
      /\b(energetically|energetic|more energetic|vigorously|vigorous|lively|actively|enthusiastically|with energy)\b/,
    phrase: 'energetically',
  },
  {
    pattern: /\b(like a (child|kid|toddler|little (boy|girl))|childishly|childish|playfully)\b/,
    phrase: 'like a child',
  },
  { pattern: /\b(like a (street )?(thug|gangster|delinquent|punk)|like a tough guy)\b/, phrase: 'like a street thug' },
  {
    pattern:
      /\b(like an? (old|elderly) (man|woman|person|lady|guy)|like a grand(pa|ma|father|mother)|like an elder|elderly|older|old-?ly)\b/,
    phrase: 'like an old person',
  },
  { pattern: /\b(like a giant|giant-?like|like an ogre|hugely)\b/, phrase: 'like a giant' },
  {
    pattern: /\b(theatrically|theatrical|like in a musical|dramatically|dramatic)\b/,
    phrase: 'theatrically, like in a musical',
  },
  {
    pattern:
      /\b(without confidence|shyly|shy|shyer|timidly|timid|nervously|nervous|insecurely|unconfident|hesitantly)\b/,
    phrase: 'without confidence',
  },
  { pattern: /\b(proudly|proud|prouder|confidently|confident|more confident)\b/, phrase: 'proudly' },
  { pattern: /\b(in a feminine way|femininely|feminine|girly)\b/, phrase: 'in a feminine way' },
  { pattern: /\b(in a masculine way|masculinely|masculine|manly)\b/, phrase: 'in a masculine way' },
  { pattern: /\b(in a youthful way|youthfully|youthful|younger|like a teenager)\b/, phrase: 'in a youthful way' },
];

const SMALL_NUMBERS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  hundred: 100,
  thousand: 1000,
  million: 1e6,
  billion: 1e9,
  half: 0.5,
  couple: 2,
  few: 3,
  several: 4,
};

/** A number written as digits ("5", "2.5") or words ("five", "a couple of", "twenty five"); undefined if neither. */
export function parseNumber(text: string): number | undefined {
  const t = text.trim().replace(/\bof$/, '').trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  if (/^(a |one )?half( an?)?$/.test(t)) return 0.5;
  const andAHalf = /^(.+?) and a half$/.exec(t);
  if (andAHalf) {
    const base = parseNumber(andAHalf[1]);
    return base === undefined ? undefined : base + 0.5;
  }
  const words = t
    .replace(/-/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== 'a' || t === 'a');
  let total = 0;
  for (const w of words) {
    const v = SMALL_NUMBERS[w];
    if (v === undefined) return undefined;
    total = v >= 100 ? Math.max(total, 1) * v : total + v;
  }
  return words.length ? total : undefined;
}

/** The regex source matching a number the way people write one ("5", "2.5", "five", "twenty five", "a couple of"). */
export const NUMBER_SOURCE =
  '(?:\\d+(?:\\.\\d+)?|(?:a |one )?half(?: an?)?|(?:(?:a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|twenty|thirty|forty|fifty|sixty|hundred|thousand|couple|few|several)(?:[ -](?:one|two|three|four|five|six|seven|eight|nine|hundred|thousand|million|billion))*)(?: and a half)?)(?: of)?';

/** Repetition words: "twice", "3 times", "three times", "x3". */
export const REPEAT_WORDS: Record<string, number> = { once: 1, twice: 2, thrice: 3 };

export const POSE_WORDS: Array<{ pattern: RegExp; pose: NamedPose }> = [
  { pattern: /\bt[- ]?pose\b/, pose: 't-pose' },
  { pattern: /\ba[- ]pose\b/, pose: 'a-pose' },
  { pattern: /\b(hands|arms) (up|raised|in the air)\b/, pose: 'hands-up' },
  { pattern: /\b(crouch|crouching|crouched|squat|squatting)\b/, pose: 'crouching' },
  { pattern: /\b(sit|sitting|seated|sat|sitting down)\b/, pose: 'sitting' },
  { pattern: /\b(kneel|kneeling|knelt|on (his|her|their|the|its) knees)\b/, pose: 'kneeling' },
  { pattern: /\b(lie|lying|laying|lying down|on the (floor|ground)|flat on (his|her|their) back)\b/, pose: 'lying' },
  { pattern: /\b(stand|standing|stood|upright|standing up)\b/, pose: 'standing' },
];

export function poseFromWords(text: string): NamedPose | undefined {
  for (const { pattern, pose } of POSE_WORDS) if (pattern.test(text)) return pose;
  return undefined;
}

export function styleFromWords(text: string): string | undefined {
  for (const { pattern, phrase } of STYLES) if (pattern.test(text)) return phrase;
  return undefined;
}

export const DEFAULT_SECONDS = 4;
