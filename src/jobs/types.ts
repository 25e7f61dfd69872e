/**
 * What flows through the job pipeline: the input a bot enqueues (serialisable, so it can cross Redis),
 * the progress events adapters show, the result they deliver, and the three stage interfaces the
 * pipeline calls (planner, generator, renderer) so tests and workers can plug real or interim stages.
 */
import { z } from 'zod';
import type { Motion, MotionRequest } from '../motion/index.js';

/** Longest user text a job carries (the agent reads at most this much of a turn). */
export const MAX_JOB_TEXT = 2000;

export const JOB_ACTIONS = ['prompt', 'reroll', 'variations', 'slower', 'faster', 'continue'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export const JobInputSchema = z.object({
  id: z.string().min(1),
  conversationId: z.string().min(1),
  userId: z.string().min(1),
  /** What the person wrote (for `prompt` and `continue`), or a label of the button. */
  text: z.string().max(MAX_JOB_TEXT),
  action: z.enum(JOB_ACTIONS),
  /** The agent's serialisable conversation state, as stored. */
  state: z.unknown().optional(),
  /** The previous turn's MotionRequest, which buttons and follow-ups edit. */
  lastRequest: z.unknown().optional(),
  /** Motion ids of the previous turn's result (for continue / frame references). */
  lastMotionIds: z.array(z.string()).default([]),
  /** Explicit options from a slash command (override what the planner chose). */
  options: z
    .object({
      seconds: z.number().optional(),
      samples: z.union([z.literal(1), z.literal(4)]).optional(),
      seed: z.number().int().nonnegative().optional(),
    })
    .default({}),
  title: z.string().optional(),
});
export type JobInput = z.infer<typeof JobInputSchema>;
export type JobInputInit = z.input<typeof JobInputSchema>;

export type Stage = 'planning' | 'generating' | 'rendering' | 'uploading';

export type Progress = { stage: 'queued'; position: number } | { stage: Stage; attempt?: number };

export interface JobResult {
  jobId: string;
  reply: string;
  notes: string[];
  planner: string;
  state: unknown;
  /** Absent when the planner answered without asking for motion (a question, help). */
  request?: MotionRequest;
  motionIds: string[];
  videoPath?: string;
  seconds?: number;
  numFrames?: number;
  generator?: string;
  timingsMs: Partial<Record<'plan' | 'generate' | 'render', number>>;
}

export interface PlanInput {
  text: string;
  state: unknown;
  lastRequest?: MotionRequest;
  userId: string;
}

export interface PlanOutput {
  request?: MotionRequest;
  reply: string;
  notes: string[];
  planner: string;
  state: unknown;
}

export interface PlannerStage {
  readonly name: string;
  plan(input: PlanInput): Promise<PlanOutput>;
  /** Lets a stateful planner remember the motions made for its request (so "continue" can refer to them). */
  recordMotions?(state: unknown, motionIds: string[]): unknown;
  /** Makes a request a button produced the conversation's current one, so typed follow-ups edit it. */
  adoptRequest?(state: unknown, request: MotionRequest): unknown;
  close?(): Promise<void>;
}

export interface GeneratorStage {
  readonly name: string;
  generate(request: MotionRequest): Promise<Motion[]>;
  close?(): Promise<void>;
}

export interface RenderOptions {
  size: number;
  fps: number;
  title?: string;
  /** One name per motion when several are rendered side by side; default 1…n. */
  labels?: string[];
}

export interface RendererStage {
  readonly name: string;
  /** One motion → one clip; two or four motions → a grid video of all of them, captioned from the first. */
  render(motions: Motion[], options: RenderOptions): Promise<Buffer>;
  /** Process ids of the browsers it runs (benchmarks and health checks count their memory too). */
  processIds?(): number[];
  close(): Promise<void>;
}

export interface Stages {
  planner: PlannerStage;
  generator: GeneratorStage;
  renderer: RendererStage;
}

/** Thrown for failures a retry cannot fix (bad request, unknown action): the queue gives up at once. */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}
