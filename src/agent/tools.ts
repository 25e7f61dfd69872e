/**
 * The planner's tools, shared by every LLM path: zod schemas the model fills in, applied to a draft plan.
 * No tool reads files, environment or configuration; each only edits the draft and answers with a short
 * summary of it, so nothing the model does can leak more than the request it is building.
 */
import { z } from 'zod';
import { NAMED_POSES } from '../motion/contracts.js';
import type { PoseRef } from '../motion/contracts.js';
import { resolveAction } from './offline.js';
import { newPlan, nextSeed, seedFromText, segmentText } from './plan.js';
import type { Plan, PlanSegment } from './plan.js';
import { lastMotionRef } from './state.js';
import type { ConversationState } from './state.js';
import type { PlanOutcome, TurnContext } from './types.js';
import { DEFAULT_SECONDS, STYLES, styleFromWords } from './vocabulary.js';

export const STYLE_PHRASES = [...new Set(STYLES.map((s) => s.phrase))];
const POSE_CHOICES = [...NAMED_POSES, 'previous_last_frame', 'uploaded_pose'] as const;

const SegmentArg = z.object({
  action: z
    .string()
    .min(1)
    .max(300)
    .describe(
      'what the person does, as a short verb phrase in base form, e.g. "wave", "act like a dog", "walk forward"',
    ),
  style: z
    .string()
    .max(80)
    .optional()
    .describe(`how, if the user said so; prefer one of: ${STYLE_PHRASES.join('; ')}`),
  seconds: z.number().optional().describe('duration of this action in seconds (0.5–12); omit for a sensible default'),
  repeat: z.number().int().min(1).max(10).optional().describe('how many times, for "twice", "three times"'),
});

export const PlanMotionArgs = z.object({
  segments: z.array(SegmentArg).min(1).max(12).describe('the actions in order; "wave, then sit down" is two segments'),
  continue_previous: z
    .boolean()
    .optional()
    .describe('true when the user wants to continue from where the previous motion ended'),
});
export const EditPreviousArgs = z.object({
  speed_factor: z.number().optional().describe('multiply playback speed: 0.5 = "slower", 2 = "faster"'),
  seconds_factor: z.number().optional().describe('multiply every duration: 1.5 = "longer", 0.67 = "shorter"'),
  total_seconds: z.number().optional().describe('"make it 8 seconds"'),
  style: z.string().max(80).optional().describe('swap the style of every action, e.g. "same but happier" → "happily"'),
  new_take: z.boolean().optional().describe('true for "again", "another one", "reroll": same request, new random seed'),
});
export const SetPosesArgs = z.object({
  start: z.enum(POSE_CHOICES).optional().describe('pose the motion starts in'),
  end: z.enum(POSE_CHOICES).optional().describe('pose the motion ends in'),
  keys: z
    .array(z.object({ at: z.number(), pose: z.enum(NAMED_POSES) }))
    .max(20)
    .optional()
    .describe('poses to hit at given seconds'),
});
export const SetOptionsArgs = z.object({
  samples: z.number().int().optional().describe('1, or 4 for a grid of variations'),
  seed: z.number().int().optional(),
  speed: z.number().optional().describe('absolute playback speed, 1 = normal'),
});
export const AnswerArgs = z.object({
  text: z.string().min(1).max(600).describe('a short friendly answer for a message that asks for no motion'),
});

/** The whole plan as one JSON object: the grammar-constrained (node-llama-cpp) path fills this in one go. */
export const OneShotPlanSchema = z.object({
  kind: z.enum(['motion', 'edit', 'undo', 'chat']),
  segments: z.array(SegmentArg).max(12).optional(),
  continue_previous: z.boolean().optional(),
  edit: EditPreviousArgs.optional(),
  poses: SetPosesArgs.optional(),
  options: SetOptionsArgs.optional(),
  answer: z.string().max(600).optional(),
});
export type OneShotPlan = z.infer<typeof OneShotPlanSchema>;

/** The request a turn is building, edited by tool calls. */
export class Draft {
  plan?: Plan;
  undo = false;
  answer?: string;
  readonly notes: string[] = [];
  readonly changes: string[] = [];

  constructor(
    private readonly state: ConversationState,
    private readonly ctx: TurnContext,
    private readonly text: string,
  ) {}

  planMotion(args: z.infer<typeof PlanMotionArgs>): string {
    const segments = args.segments.map(segmentFromArg);
    const previous = this.state.plan;
    const plan = newPlan(segments, seedFromText(this.text));
    if (args.continue_previous && previous) {
      plan.speed = previous.speed;
      const motion = lastMotionRef(this.state);
      if (motion) segments[0].continueFrom = motion;
      else {
        plan.segments = [...previous.segments.map((s) => ({ ...s })), ...segments];
        this.notes.push(
          'There is no finished motion to continue yet, so I made the previous part again with the new action after it.',
        );
      }
      this.changes.push('continuing');
    }
    this.plan = plan;
    return `planned: ${this.summary()}`;
  }

  editPrevious(args: z.infer<typeof EditPreviousArgs>): string {
    const plan = this.editable();
    if (!plan) return 'error: there is no previous request to edit; plan a new motion instead';
    if (args.speed_factor !== undefined && Number.isFinite(args.speed_factor) && args.speed_factor > 0) {
      plan.speed *= args.speed_factor;
      this.changes.push(args.speed_factor < 1 ? 'slower' : 'faster');
    }
    if (args.seconds_factor !== undefined && Number.isFinite(args.seconds_factor) && args.seconds_factor > 0) {
      for (const s of plan.segments) s.seconds *= args.seconds_factor;
      this.changes.push(args.seconds_factor > 1 ? 'longer' : 'shorter');
    }
    if (args.total_seconds !== undefined && Number.isFinite(args.total_seconds)) {
      const total = plan.segments.reduce((s, x) => s + x.seconds, 0) || 1;
      for (const s of plan.segments) s.seconds = (s.seconds / total) * args.total_seconds;
      this.changes.push(`${args.total_seconds} s`);
    }
    if (args.style) {
      const style = normaliseStyle(args.style);
      for (const s of plan.segments) s.style = style;
      this.changes.push(`now ${style}`);
    }
    if (args.new_take) {
      plan.seed = nextSeed(plan.seed);
      this.changes.push('new take');
    }
    return `edited: ${this.summary()}`;
  }

  setPoses(args: z.infer<typeof SetPosesArgs>): string {
    const plan = this.editable();
    if (!plan?.segments.length) return 'error: plan the motion first, then set its poses';
    const first = plan.segments[0];
    const last = plan.segments[plan.segments.length - 1];
    if (args.start) {
      const ref = this.pose(args.start);
      if (ref) {
        first.init = ref;
        delete first.continueFrom;
        this.changes.push('new start pose');
      }
    }
    if (args.end) {
      const ref = this.pose(args.end);
      if (ref) {
        last.last = ref;
        this.changes.push('new end pose');
      }
    }
    if (args.keys?.length) first.keys = args.keys.map((k) => ({ at: k.at, pose: { kind: 'named', name: k.pose } }));
    return `poses set: ${this.summary()}`;
  }

  setOptions(args: z.infer<typeof SetOptionsArgs>): string {
    const plan = this.editable();
    if (!plan) return 'error: plan the motion first';
    if (args.samples !== undefined) plan.samples = args.samples;
    if (args.seed !== undefined) plan.seed = args.seed;
    if (args.speed !== undefined && Number.isFinite(args.speed)) plan.speed = args.speed;
    return `options set: ${this.summary()}`;
  }

  requestUndo(): string {
    if (!this.state.undo.length) return 'error: there is nothing to undo';
    this.undo = true;
    return 'the previous request will be restored';
  }

  setAnswer(text: string): string {
    this.answer = text;
    return 'answer recorded';
  }

  outcome(finalText: string): PlanOutcome {
    if (this.undo) return { kind: 'undo', notes: [] };
    if (this.plan) return { kind: 'plan', plan: this.plan, notes: this.notes, changes: this.changes };
    const asText = this.answer === undefined ? this.applyToolCallText(finalText) : 'none';
    if (asText === 'applied') return this.outcome('');
    if (asText !== 'none') throw new Error(`the model wrote an invalid ${asText} call as text`);
    const answer = (this.answer ?? finalText).trim();
    if (answer) return { kind: 'chat', reply: answer, notes: [] };
    throw new Error('the model returned neither a plan nor an answer');
  }

  /**
   * Small local models (Ollama, LM Studio) often write a tool call as JSON text instead of calling the
   * tool: {"name": "plan_motion", "arguments": {...}}. Such text is validated with the tool's own schema
   * and applied; text that is no tool call stays a plain answer. Returns 'applied', 'none', or the name of
   * the tool whose arguments were invalid.
   */
  private applyToolCallText(text: string): string {
    const json = /\{[\s\S]*\}/.exec(text.replace(/```(?:json)?/g, ''))?.[0];
    if (!json) return 'none';
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      return 'none';
    }
    const call = z
      .object({ name: z.string(), arguments: z.unknown().optional(), parameters: z.unknown().optional() })
      .safeParse(value);
    if (!call.success) return 'none';
    const args = call.data.arguments ?? call.data.parameters ?? {};
    const apply: Record<string, (a: unknown) => string | undefined> = {
      plan_motion: (a) => parsed(PlanMotionArgs, a, (v) => this.planMotion(v)),
      edit_previous: (a) => parsed(EditPreviousArgs, a, (v) => this.editPrevious(v)),
      set_poses: (a) => parsed(SetPosesArgs, a, (v) => this.setPoses(v)),
      set_options: (a) => parsed(SetOptionsArgs, a, (v) => this.setOptions(v)),
      undo: () => this.requestUndo(),
      answer: (a) => parsed(AnswerArgs, a, (v) => this.setAnswer(v.text)),
    };
    const fn = apply[call.data.name];
    if (!fn) return 'none';
    return fn(args) === undefined ? call.data.name : 'applied';
  }

  /** Applies a one-shot JSON plan (grammar path) through the same methods the tools use. */
  applyOneShot(p: OneShotPlan): PlanOutcome {
    if (p.kind === 'undo') this.requestUndo();
    if (p.kind === 'motion') {
      if (!p.segments?.length) throw new Error('the model chose "motion" but gave no segments');
      this.planMotion({ segments: p.segments, continue_previous: p.continue_previous });
    }
    if (p.kind === 'edit') {
      if (!this.state.plan) throw new Error('the model chose "edit" but there is no previous request');
      this.editPrevious(p.edit ?? {});
    }
    if (p.kind !== 'chat' && p.kind !== 'undo') {
      if (p.poses) this.setPoses(p.poses);
      if (p.options) this.setOptions(p.options);
    }
    if (p.kind === 'chat') this.setAnswer(p.answer ?? '');
    return this.outcome('');
  }

  private editable(): Plan | undefined {
    if (!this.plan && this.state.plan) this.plan = structuredClone(this.state.plan);
    return this.plan;
  }

  private pose(choice: (typeof POSE_CHOICES)[number]): PoseRef | undefined {
    if (choice === 'uploaded_pose') {
      if (this.ctx.uploadedPose)
        return {
          kind: 'joints',
          joints: this.ctx.uploadedPose.joints,
          ...(this.ctx.uploadedPose.label ? { label: this.ctx.uploadedPose.label } : {}),
        };
      this.notes.push('I found no uploaded pose on your message, so I ignored that part.');
      return undefined;
    }
    if (choice === 'previous_last_frame') {
      const motion = lastMotionRef(this.state);
      if (motion) return { kind: 'frame', motion, frame: -1 };
      this.notes.push('There is no finished motion yet to take that pose from, so I ignored that part.');
      return undefined;
    }
    return { kind: 'named', name: choice };
  }

  private summary(): string {
    const p = this.plan;
    if (!p) return 'nothing yet';
    return `${p.segments.map((s) => `${segmentText(s)} (${Math.round(s.seconds * 10) / 10} s)`).join(', then ')}; speed ${p.speed}; samples ${p.samples}`;
  }
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, apply: (v: T) => string): string | undefined {
  const r = schema.safeParse(value);
  return r.success ? apply(r.data) : undefined;
}

function segmentFromArg(a: z.infer<typeof SegmentArg>): PlanSegment {
  const known = resolveAction(a.action.toLowerCase().trim());
  const seg: PlanSegment = {
    action: known?.phrase ?? a.action.trim(),
    seconds: a.seconds ?? known?.seconds ?? DEFAULT_SECONDS,
  };
  if (a.repeat && a.repeat > 1) {
    seg.repeat = a.repeat;
    if (a.seconds === undefined) seg.seconds = Math.max(seg.seconds, (known?.perRep ?? seg.seconds / 2) * a.repeat);
  }
  if (a.style) seg.style = normaliseStyle(a.style);
  return seg;
}

/** Maps a model's free style words onto the data's style phrases where one fits ("angry" → "angrily"). */
export function normaliseStyle(style: string): string {
  return styleFromWords(style.toLowerCase()) ?? style.trim();
}
