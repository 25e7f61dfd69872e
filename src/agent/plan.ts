/**
 * The planner's working form of a request. Both planners (offline parser and LLM tools) build a `Plan`:
 * action and style kept apart so follow-ups can swap one without re-parsing the other. `compilePlan`
 * clamps it to the contract's LIMITS (with a note per change) and turns it into a validated MotionRequest.
 */
import { z } from 'zod';
import { LIMITS, MotionRefSchema, MotionRequestSchema, PoseRefSchema } from '../motion/contracts.js';
import type { MotionRequest, PoseRef } from '../motion/contracts.js';

export const PlanSegmentSchema = z.object({
  action: z.string(),
  style: z.string().optional(),
  repeat: z.number().int().min(1).optional(),
  seconds: z.number(),
  init: PoseRefSchema.optional(),
  last: PoseRefSchema.optional(),
  keys: z.array(z.object({ at: z.number(), pose: PoseRefSchema })).optional(),
  continueFrom: MotionRefSchema.optional(),
  /** Body-movement descriptions that come with the segment (an LLM's grounding rewrite); the cache is used otherwise. */
  descriptions: z.array(z.string().min(1)).max(8).optional(),
  /** The user's words when the segment acts out something else (a pantomime step): the video's caption. */
  caption: z.string().optional(),
});
export type PlanSegment = z.infer<typeof PlanSegmentSchema>;

export const PlanSchema = z.object({
  segments: z.array(PlanSegmentSchema),
  samples: z.number(),
  seed: z.number(),
  temperature: z.number(),
  speed: z.number(),
});
export type Plan = z.infer<typeof PlanSchema>;

const REPEAT_TEXT: Record<number, string> = { 2: 'twice', 3: 'three times', 4: 'four times', 5: 'five times' };

/** The text the motion model sees: action, repetition, style ("jump twice happily"). */
export function segmentText(seg: Pick<PlanSegment, 'action' | 'style' | 'repeat'>): string {
  const repeat = seg.repeat && seg.repeat > 1 ? (REPEAT_TEXT[seg.repeat] ?? `${seg.repeat} times`) : undefined;
  return [seg.action, repeat, seg.style].filter(Boolean).join(' ');
}

export function newPlan(segments: PlanSegment[], seed: number): Plan {
  return { segments, samples: 1, seed, temperature: 1, speed: 1 };
}

/** A stable seed for a phrase, so the same words give the same motion (and cache hits) until the user asks "again". */
export function seedFromText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 2 ** 31;
}

export function nextSeed(seed: number): number {
  return (seed + 1) % 2 ** 31;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const fmt = (x: number) => `${round1(x)}`;

/**
 * Clamps a plan to LIMITS. Returns the clamped copy and one note per change, in words a user understands.
 * Never throws: absurd numbers from users or models become the nearest allowed value.
 */
export function clampPlan(input: Plan): { plan: Plan; notes: string[] } {
  const notes: string[] = [];
  const plan: Plan = structuredClone(input);
  if (plan.segments.length > LIMITS.maxSegments) {
    notes.push(
      `I kept the first ${LIMITS.maxSegments} of ${plan.segments.length} actions (the limit is ${LIMITS.maxSegments} per request).`,
    );
    plan.segments = plan.segments.slice(0, LIMITS.maxSegments);
  }
  for (const seg of plan.segments) clampSegment(seg, notes);
  clampOptions(plan, notes);
  const total = plan.segments.reduce((s, x) => s + x.seconds, 0) / plan.speed;
  if (total > LIMITS.maxRequestSeconds + 1e-9) {
    const factor = LIMITS.maxRequestSeconds / total;
    for (const seg of plan.segments)
      seg.seconds = Math.max(LIMITS.minSegmentSeconds, Math.floor(seg.seconds * factor * 10 + 1e-6) / 10);
    notes.push(
      `The whole clip would be ${fmt(total)} s; I shortened it to fit the ${LIMITS.maxRequestSeconds} s limit.`,
    );
  }
  return { plan, notes };
}

function clampSegment(seg: PlanSegment, notes: string[]): void {
  const cleaned = seg.action
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  seg.action = cleaned || 'stand still';
  const room = LIMITS.maxTextLength - (segmentText({ ...seg, action: '' }).length + 1);
  if (seg.action.length > room) {
    seg.action = seg.action.slice(0, room).trim();
    notes.push(`I shortened a very long action description to ${LIMITS.maxTextLength} characters.`);
  }
  if (!Number.isFinite(seg.seconds)) seg.seconds = 4;
  if (seg.seconds > LIMITS.maxSegmentSeconds) {
    notes.push(
      `"${segmentText(seg)}" was ${fmt(seg.seconds)} s; one action can last at most ${LIMITS.maxSegmentSeconds} s, so I made it ${LIMITS.maxSegmentSeconds} s.`,
    );
    seg.seconds = LIMITS.maxSegmentSeconds;
  } else if (seg.seconds < LIMITS.minSegmentSeconds) {
    notes.push(
      `"${segmentText(seg)}" was ${fmt(Math.max(0, seg.seconds))} s; the shortest action is ${LIMITS.minSegmentSeconds} s.`,
    );
    seg.seconds = LIMITS.minSegmentSeconds;
  }
  seg.seconds = round1(seg.seconds);
  if (seg.keys) {
    if (seg.keys.length > 20) {
      notes.push('I kept the first 20 key poses.');
      seg.keys = seg.keys.slice(0, 20);
    }
    for (const key of seg.keys) {
      if (!Number.isFinite(key.at) || key.at < 0 || key.at > seg.seconds) {
        const at = Math.min(Math.max(Number.isFinite(key.at) ? key.at : 0, 0), seg.seconds);
        notes.push(
          `A key pose at ${fmt(key.at)} s lies outside its ${fmt(seg.seconds)} s action; I moved it to ${fmt(at)} s.`,
        );
        key.at = at;
      }
    }
  }
}

function clampOptions(plan: Plan, notes: string[]): void {
  const samples = Number.isFinite(plan.samples) ? Math.round(plan.samples) : 1;
  if (samples > LIMITS.maxSamples)
    notes.push(`I can make at most ${LIMITS.maxSamples} variations at once, so you get ${LIMITS.maxSamples}.`);
  else if (samples > 1 && samples < 4) notes.push(`Variations come as 1 or 4; you get 4.`);
  plan.samples = samples > 1 ? 4 : 1;
  if (!Number.isFinite(plan.speed)) plan.speed = 1;
  if (plan.speed < 0.25 || plan.speed > 4) {
    const speed = Math.min(4, Math.max(0.25, plan.speed));
    notes.push(`Speed ${Math.round(plan.speed * 1000) / 1000}× is out of range (0.25–4×); I used ${speed}×.`);
    plan.speed = speed;
  }
  plan.speed = Math.round(plan.speed * 1000) / 1000;
  plan.seed = Number.isFinite(plan.seed) ? Math.abs(Math.trunc(plan.seed)) % 2 ** 31 : 0;
  if (!Number.isFinite(plan.temperature) || plan.temperature <= 0) plan.temperature = 1;
  if (plan.temperature > 2) {
    notes.push('The randomness (temperature) is capped at 2.');
    plan.temperature = 2;
  }
}

/** Clamps and compiles a plan into a MotionRequest that is guaranteed to satisfy the contract. */
export function compilePlan(input: Plan): { plan: Plan; request: MotionRequest; notes: string[] } {
  const { plan, notes } = clampPlan(input);
  const request = MotionRequestSchema.parse({
    segments: plan.segments.map((seg) => ({
      text: segmentText(seg),
      ...(seg.descriptions?.length ? { descriptions: seg.descriptions } : {}),
      ...(seg.caption?.trim() ? { caption: seg.caption.trim().slice(0, LIMITS.maxTextLength) } : {}),
      seconds: seg.seconds,
      ...(controlOf(seg) ? { control: controlOf(seg) } : {}),
    })),
    samples: plan.samples,
    seed: plan.seed,
    temperature: plan.temperature,
    speed: plan.speed,
  });
  return { plan, request, notes };
}

function controlOf(seg: PlanSegment) {
  const control: {
    init?: PoseRef;
    last?: PoseRef;
    keys?: { at: number; pose: PoseRef }[];
    continueFrom?: { id: string } | { path: string };
  } = {};
  if (seg.init) control.init = seg.init;
  if (seg.last) control.last = seg.last;
  if (seg.keys?.length) control.keys = seg.keys;
  if (seg.continueFrom) control.continueFrom = seg.continueFrom;
  return Object.keys(control).length ? control : undefined;
}

export function totalSeconds(plan: Plan): number {
  return plan.segments.reduce((s, x) => s + x.seconds, 0) / plan.speed;
}
