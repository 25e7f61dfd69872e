import type { Plan } from './plan.js';

/** What a turn knows besides the text: who wrote it and what they attached. */
export interface TurnContext {
  user?: string;
  /** A pose the user uploaded with this message (BVH/JSON converted to 22×3 joint positions by the caller). */
  uploadedPose?: { joints: number[]; label?: string };
  /** Aborts a slow LLM call (the planner then falls back to the offline planner). */
  signal?: AbortSignal;
}

/** A planner's answer to one turn, before compilation. */
export type PlanOutcome =
  | { kind: 'chat'; reply: string; notes: string[] }
  | { kind: 'undo'; notes: string[] }
  | {
      kind: 'plan';
      plan: Plan;
      notes: string[];
      /** What this turn changed, in words ("slower", "new take") — empty for a fresh request. */
      changes: string[];
      /** A reply the planner wrote itself (LLM); the agent composes one when absent. */
      reply?: string;
    };

export type PlannerKind = 'offline' | 'llm';
