/**
 * Conversation memory: a plain, JSON-serialisable object the caller stores (SQLite row, Redis key, REPL
 * variable). The agent never mutates it; each turn returns the next state.
 */
import { z } from 'zod';
import { MotionRequestSchema } from '../motion/contracts.js';
import type { MotionRef, MotionRequest } from '../motion/contracts.js';
import { PlanSchema, segmentText } from './plan.js';
import type { Plan, PlanSegment } from './plan.js';

/** How many turns / undo steps / produced motions a conversation remembers. */
export const MEMORY = { turns: 40, undo: 20, motions: 20 } as const;

export const TurnSchema = z.object({
  role: z.enum(['user', 'assistant']),
  text: z.string(),
  user: z.string().optional(),
});
export type Turn = z.infer<typeof TurnSchema>;

export const ProducedMotionSchema = z.object({
  /** One motion id per sample, in sample order. */
  ids: z.array(z.string().min(1)).min(1),
  /** The sample the user picked (index into ids); absent = the first. */
  picked: z.number().int().nonnegative().optional(),
});
export type ProducedMotion = z.infer<typeof ProducedMotionSchema>;

const SnapshotSchema = z.object({ plan: PlanSchema, request: MotionRequestSchema });

export const ConversationStateSchema = z.object({
  version: z.literal(1),
  turns: z.array(TurnSchema),
  plan: PlanSchema.optional(),
  lastRequest: MotionRequestSchema.optional(),
  /** Earlier (plan, request) pairs, newest last, for "undo". */
  undo: z.array(SnapshotSchema),
  /** Motions produced for this conversation's requests, newest last. */
  motions: z.array(ProducedMotionSchema),
});
export type ConversationState = z.infer<typeof ConversationStateSchema>;

export function emptyConversation(): ConversationState {
  return { version: 1, turns: [], undo: [], motions: [] };
}

/** Validates a stored state; the error names the field that is wrong so a corrupt row is easy to find. */
export function parseConversationState(input: unknown, source = 'conversation state'): ConversationState {
  const r = ConversationStateSchema.safeParse(input);
  if (!r.success) {
    throw new Error(
      `${source} is invalid: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return r.data;
}

/** Records the motions generated for the last request (one id per sample); returns the next state. */
export function recordMotion(state: ConversationState, ids: string[]): ConversationState {
  if (!ids.length || ids.some((id) => !id)) throw new Error('recordMotion: expected at least one non-empty motion id');
  return { ...state, motions: [...state.motions, { ids: [...ids] }].slice(-MEMORY.motions) };
}

/** Marks which sample of the newest motion the user picked (the one "continue" and "end pose" refer to). */
export function pickSample(state: ConversationState, index: number): ConversationState {
  const last = state.motions.at(-1);
  if (!last) throw new Error('pickSample: this conversation has no motion yet');
  if (!Number.isInteger(index) || index < 0 || index >= last.ids.length) {
    throw new Error(`pickSample: sample ${index} does not exist (the last motion has ${last.ids.length})`);
  }
  return { ...state, motions: [...state.motions.slice(0, -1), { ...last, picked: index }] };
}

/** The motion follow-ups refer to: the picked sample of the newest produced motion. */
export function lastMotionRef(state: ConversationState): MotionRef | undefined {
  const last = state.motions.at(-1);
  if (!last) return undefined;
  return { id: last.ids[last.picked ?? 0] };
}

export function withTurns(state: ConversationState, ...turns: Turn[]): ConversationState {
  return { ...state, turns: [...state.turns, ...turns].slice(-MEMORY.turns) };
}

/** Makes `plan`/`request` current, pushing the previous ones onto the undo stack. */
export function withRequest(state: ConversationState, plan: Plan, request: MotionRequest): ConversationState {
  const undo =
    state.plan && state.lastRequest
      ? [...state.undo, { plan: state.plan, request: state.lastRequest }].slice(-MEMORY.undo)
      : state.undo;
  return { ...state, plan, lastRequest: request, undo };
}

/**
 * Makes a request produced outside the planner (a button: Reroll, Variations, Slower, Faster, Continue) the
 * conversation's current one, so that the next typed follow-up ("faster", "undo") edits what the user last saw.
 * Segments the plan already has keep their action and style; new or changed ones take the request's text.
 */
export function adoptRequest(state: ConversationState, request: MotionRequest): ConversationState {
  const known = state.plan?.segments ?? [];
  const segments: PlanSegment[] = request.segments.map((seg, i) => {
    const control = {
      ...(seg.control?.init ? { init: seg.control.init } : {}),
      ...(seg.control?.last ? { last: seg.control.last } : {}),
      ...(seg.control?.keys ? { keys: seg.control.keys } : {}),
      ...(seg.control?.continueFrom ? { continueFrom: seg.control.continueFrom } : {}),
    };
    const same = known[i] && segmentText(known[i]) === seg.text ? known[i] : undefined;
    return same
      ? { ...same, seconds: seg.seconds, ...control }
      : { action: seg.text, seconds: seg.seconds, ...control };
  });
  const plan: Plan = {
    segments,
    samples: request.samples,
    seed: request.seed,
    temperature: request.temperature,
    speed: request.speed,
  };
  return withRequest(state, plan, request);
}

/** Restores the previous request; undefined when there is nothing to undo. */
export function undoRequest(
  state: ConversationState,
): { state: ConversationState; plan: Plan; request: MotionRequest } | undefined {
  const prev = state.undo.at(-1);
  if (!prev) return undefined;
  return {
    state: { ...state, plan: prev.plan, lastRequest: prev.request, undo: state.undo.slice(0, -1) },
    plan: prev.plan,
    request: prev.request,
  };
}

/** Keeps conversations in memory (REPL, tests); the bot room persists the same objects in its store. */
export class InMemoryConversations {
  private readonly states = new Map<string, ConversationState>();

  get(id: string): ConversationState {
    return this.states.get(id) ?? emptyConversation();
  }

  set(id: string, state: ConversationState): void {
    this.states.set(id, structuredClone(state));
  }

  delete(id: string): void {
    this.states.delete(id);
  }

  get size(): number {
    return this.states.size;
  }
}
