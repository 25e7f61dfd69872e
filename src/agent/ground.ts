/**
 * Grounding: a planned action the motion model was never taught ("act like a dog", "swim", "sit on a chair")
 * is rewritten into what it can do before it reaches the engine. The pantomime lexicon (pantomimes.ts) is
 * checked first: curated sequences of the data's own phrases with pinned postures. Anything else is compared
 * with the LIVE model's vocabulary (src/motion/vocabulary.ts); a phrase whose nearest known text is below
 * the threshold is rewritten by the LLM when one is configured (given the nearest known texts and the named
 * poses), or else kept with an honest note naming the closest thing the model does well.
 */
import { z } from 'zod';
import { LIMITS, NAMED_POSES } from '../motion/contracts.js';
import type { NamedPose, PoseRef } from '../motion/contracts.js';
import type { SentenceEncoder } from '../motion/text/encoder.js';
import type { Vocabulary, VocabularyMatch } from '../motion/vocabulary.js';
import { findPantomime } from './pantomimes.js';
import type { PantomimeStep } from './pantomimes.js';
import { segmentText } from './plan.js';
import type { Plan, PlanSegment } from './plan.js';
import { styleFromWords } from './vocabulary.js';

/**
 * Below this cosine to its nearest vocabulary entry an action counts as unknown to the model. Measured with USE
 * on charades-full-20261206's vocabulary (1,335 entries): the planner's 35 canonical data phrases all score
 * ≥ 0.70 (median 1.0; free wordings "twirl around" 0.69, "sneak forward like a cat burglar" 0.60 fall below, and
 * the data has neither); 44 requests no data holds score 0.48–0.81 (median 0.63) and 41 of them fall below
 * 0.70 — the three above it (sit down, sit on the floor, push-ups) are in the pantomime lexicon, which is
 * checked first. Styles are left out of the comparison (see below).
 */
export const GROUNDING_THRESHOLD = 0.7;

/** What the plan now does instead of what was asked, for the reply's one line. */
export interface Substitution {
  asked: string;
  summary: string;
  source: 'pantomime' | 'llm';
}

/** A phrase far from everything the model knows that nothing could rewrite. */
export interface UnknownAction {
  asked: string;
  closest: string;
  cosine: number;
}

export interface Grounding {
  plan: Plan;
  substitutions: Substitution[];
  unknown: UnknownAction[];
}

export interface Grounder {
  ground(plan: Plan, signal?: AbortSignal): Promise<Grounding>;
}

/** The model's vocabulary and the text encoder its embeddings came from. */
export interface Knowledge {
  vocabulary: Vocabulary;
  encoder: SentenceEncoder;
}

/** A plain text completion (the Action-GPT description model has this shape). */
export interface GroundingModel {
  readonly id: string;
  complete(prompt: string, signal?: AbortSignal): Promise<string>;
}

export interface GrounderOptions {
  /** The LIVE model's vocabulary and encoder, or undefined (then only the lexicon grounds). */
  knowledge?: () => Promise<Knowledge | undefined>;
  /** Rewrites unknown phrases into known ones (an LLM); without it they are kept with a note. */
  rewriter?: GroundingModel;
  threshold?: number;
}

export function createGrounder(opts: GrounderOptions = {}): Grounder {
  const threshold = opts.threshold ?? GROUNDING_THRESHOLD;
  return {
    async ground(plan, signal) {
      const substitutions: Substitution[] = [];
      const unknown: UnknownAction[] = [];
      const segments: PlanSegment[] = [];
      const knowledge = opts.knowledge ? await opts.knowledge().catch(() => undefined) : undefined;
      for (const [i, seg] of plan.segments.entries()) {
        const room = LIMITS.maxSegments - segments.length - (plan.segments.length - i - 1);
        const pantomime = findPantomime(segmentText(seg));
        if (pantomime) {
          segments.push(...expandSteps(seg, pantomime.steps, room));
          substitutions.push({ asked: segmentText(seg), summary: pantomime.summary, source: 'pantomime' });
          continue;
        }
        // the action alone: styles are learned apart from actions, and an unseen pairing ("kick sadly") is no unknown action
        const matches = knowledge ? await nearestKnown(knowledge, seg.action) : [];
        if (!matches.length || matches[0].cosine >= threshold) {
          segments.push(seg);
          continue;
        }
        const rewritten = opts.rewriter
          ? await rewriteWithModel(opts.rewriter, seg, matches, signal).catch(() => undefined)
          : undefined;
        if (rewritten) {
          segments.push(...expandSteps(seg, rewritten.steps, room));
          substitutions.push({ asked: segmentText(seg), summary: rewritten.summary, source: 'llm' });
          continue;
        }
        segments.push(seg);
        unknown.push({ asked: segmentText(seg), closest: closestPhrase(matches), cosine: matches[0].cosine });
      }
      return { plan: { ...plan, segments }, substitutions, unknown };
    },
  };
}

async function nearestKnown(k: Knowledge, text: string): Promise<VocabularyMatch[]> {
  const [embedding] = await k.encoder.embed([text]);
  return k.vocabulary.nearest(embedding, 8);
}

/** The nearest entry in the words a user would type ("walk backwards", not "a person walks backwards."). */
function closestPhrase(matches: VocabularyMatch[]): string {
  const best = matches.find((m) => m.entry.kind !== 'text') ?? matches[0];
  return best.entry.text.replace(/^(a person|someone)\s*:?\s*/i, '').replace(/\.$/, '');
}

// ---------------------------------------------------------------- expanding a sequence of steps

const round1 = (x: number) => Math.round(x * 10) / 10;
const named = (name: NamedPose): PoseRef => ({ kind: 'named', name });

/**
 * The steps as plan segments sharing the requested segment's time. The request's own poses win over the
 * sequence's (its start pose on the first step, its end pose on the last), a continuation keeps its past, and
 * its style goes on every step that has none. With fewer free segments than steps, the longest steps stay.
 */
export function expandSteps(seg: PlanSegment, allSteps: readonly PantomimeStep[], room: number): PlanSegment[] {
  const steps = fitSteps(allSteps, Math.max(1, room));
  const totalShare = steps.reduce((s, x) => s + x.share, 0) || 1;
  const out = steps.map((step): PlanSegment => {
    const seconds = Math.max(LIMITS.minSegmentSeconds, round1((seg.seconds * step.share) / totalShare));
    // the video says what was asked ("act like a dog"), the reply says what stands in for it
    const out: PlanSegment = { action: step.text, seconds, caption: seg.caption ?? segmentText(seg) };
    if (seg.style && !styleFromWords(step.text)) out.style = seg.style;
    if (step.init) out.init = named(step.init);
    if (step.last) out.last = named(step.last);
    if (step.keys?.length) out.keys = step.keys.map(([at, pose]) => ({ at: round1(at * seconds), pose: named(pose) }));
    if (step.hold) Object.assign(out, holdControls(step.hold, seconds, step.holdEvery));
    if (step.descriptions?.length) out.descriptions = step.descriptions;
    return out;
  });
  // a step's end and the next step's start are neighbouring frames: two pins there leave the pins no room to
  // blend (measured over 8 seeds: the pelvis jerks more), so the next step's start pose is the one kept
  for (let i = 0; i + 1 < out.length; i++) if (out[i].last && out[i + 1].init && !steps[i].pinEnd) delete out[i].last;
  const first = out[0];
  const last = out[out.length - 1];
  // rounding each share to 0.1 s must not change the length the user asked for
  const others = out.slice(0, -1).reduce((sum, x) => sum + x.seconds, 0);
  if (out.length > 1 && seg.seconds - others >= LIMITS.minSegmentSeconds) last.seconds = round1(seg.seconds - others);
  for (const x of out) if (x.keys) for (const k of x.keys) k.at = Math.min(k.at, x.seconds);
  if (seg.continueFrom) {
    first.continueFrom = seg.continueFrom;
    delete first.init;
  }
  if (seg.init) first.init = seg.init;
  if (seg.last) last.last = seg.last;
  if (seg.keys?.length) first.keys = [...(first.keys ?? []), ...seg.keys.filter((k) => k.at <= first.seconds)];
  return out;
}

/** One motion token of the model: 4 frames at 20 fps. */
const TOKEN_SECONDS = 0.2;
/** Pose controls one segment may carry (the model's maxControls), less its start and end. */
const MAX_HOLD_KEYS = 18;

/** A still posture: start and end pinned, and a key on every token in between (spread wider past 3.8 s). */
function holdControls(
  pose: NamedPose,
  seconds: number,
  every = TOKEN_SECONDS,
): Pick<PlanSegment, 'init' | 'last' | 'keys'> {
  const spacing = Math.max(every, Math.ceil((seconds / (MAX_HOLD_KEYS + 1)) * 10) / 10);
  const keys: NonNullable<PlanSegment['keys']> = [];
  for (let at = spacing; at < seconds - TOKEN_SECONDS / 2; at += spacing)
    keys.push({ at: round1(at), pose: named(pose) });
  return { init: named(pose), last: named(pose), keys: keys.slice(0, MAX_HOLD_KEYS) };
}

function fitSteps(steps: readonly PantomimeStep[], room: number): PantomimeStep[] {
  if (steps.length <= room) return [...steps];
  const keep = new Set([...steps].sort((a, b) => b.share - a.share).slice(0, room));
  return steps.filter((s) => keep.has(s));
}

// ---------------------------------------------------------------- the LLM rewrite

const PoseName = z.enum(NAMED_POSES);
const RewriteSchema = z.object({
  summary: z.string().min(3).max(160),
  steps: z
    .array(
      z.object({
        text: z.string().min(1).max(160),
        share: z.number().positive().max(1),
        descriptions: z.array(z.string().min(1).max(600)).max(4).optional(),
        init: PoseName.optional(),
        last: PoseName.optional(),
        keys: z
          .array(z.object({ at: z.number().min(0).max(1), pose: PoseName }))
          .max(6)
          .optional(),
      }),
    )
    .min(1)
    .max(4),
});

/** The prompt: the request, what the model knows nearest to it, the poses, and the JSON to answer with. */
export function rewritePrompt(asked: string, matches: readonly VocabularyMatch[]): string {
  return [
    'A 3D person is animated by a motion model that can only act what its training data holds.',
    `A user asked for: "${asked}". The model has no data for that.`,
    'The closest things it knows (cosine similarity to the request):',
    ...matches.map((m) => `- "${m.entry.text}" (${m.cosine.toFixed(2)})`),
    `Named poses that can be pinned at the start, the end or at key times of a step: ${NAMED_POSES.join(', ')}.`,
    'Rewrite the request as 1 to 4 steps the model can act, using phrases from the list above or phrases close to them,',
    'with poses that hold the posture the request needs. For each step give up to 4 Action-GPT style descriptions:',
    "detailed descriptions of the person's body movements (which limbs move, how, where the body is).",
    'Answer with JSON only, no other text:',
    '{"summary": "no <thing> data: <what the person does instead, a few words>", "steps": [{"text": "<phrase>", "share": <fraction of the time>,',
    '"descriptions": ["<body movements>"], "init": "<pose>", "last": "<pose>", "keys": [{"at": <0..1 of the step>, "pose": "<pose>"}]}]}',
  ].join('\n');
}

async function rewriteWithModel(
  model: GroundingModel,
  seg: PlanSegment,
  matches: VocabularyMatch[],
  signal?: AbortSignal,
): Promise<{ summary: string; steps: PantomimeStep[] } | undefined> {
  const answer = await model.complete(rewritePrompt(segmentText(seg), matches), signal);
  const json = /\{[\s\S]*\}/.exec(answer.replace(/```(?:json)?/g, ''))?.[0];
  if (!json) return undefined;
  const parsed = RewriteSchema.safeParse(JSON.parse(json));
  if (!parsed.success) return undefined;
  const steps = parsed.data.steps.map((s): PantomimeStep => ({
    text: s.text.replace(/[\p{Cc}\p{Cf}<>@{}]+/gu, ' ').trim(),
    share: s.share,
    ...(s.init ? { init: s.init } : {}),
    ...(s.last ? { last: s.last } : {}),
    ...(s.keys?.length ? { keys: s.keys.map((k) => [k.at, k.pose] as [number, NamedPose]) } : {}),
    ...(s.descriptions?.length ? { descriptions: s.descriptions } : {}),
  }));
  return { summary: parsed.data.summary.replace(/[<>@{}]+/g, ' ').trim(), steps };
}
