/**
 * One job, start to finish except delivery: plan → generate → render. It runs the same in the
 * in-process queue and in a BullMQ worker; delivery stays with the adapter that owns the conversation.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMotionRequest } from '../motion/index.js';
import type { Motion, MotionRequest } from '../motion/index.js';
import { replyAfterGeneration } from '../agent/reply.js';
import { applyAction } from './actions.js';
import { MotionFiles } from './motion-files.js';
import type { JobInput, JobResult, Progress, Stages } from './types.js';
import { PermanentJobError } from './types.js';

export interface PipelineContext {
  stages: Stages;
  dataDir: string;
  render: { size: number; fps: number };
  onProgress: (p: Progress) => void;
}

function lastRequestOf(input: JobInput): MotionRequest | undefined {
  if (input.lastRequest === undefined) return undefined;
  try {
    return parseMotionRequest(input.lastRequest);
  } catch (err) {
    throw new PermanentJobError(`the stored previous request is unusable: ${(err as Error).message}`);
  }
}

function withOptions(request: MotionRequest, options: JobInput['options']): MotionRequest {
  if (options.seconds === undefined && options.samples === undefined && options.seed === undefined) return request;
  const factor =
    options.seconds === undefined ? 1 : options.seconds / request.segments.reduce((a, x) => a + x.seconds, 0);
  // key poses keep their place in the action when its length changes (else one can fall past its end)
  const segments =
    factor === 1
      ? request.segments
      : request.segments.map((s) => ({
          ...s,
          seconds: s.seconds * factor,
          ...(s.control?.keys
            ? { control: { ...s.control, keys: s.control.keys.map((k) => ({ ...k, at: k.at * factor })) } }
            : {}),
        }));
  try {
    return parseMotionRequest({
      ...request,
      segments,
      samples: options.samples ?? request.samples,
      seed: options.seed ?? request.seed,
    });
  } catch (err) {
    throw new PermanentJobError((err as Error).message);
  }
}

async function planStep(input: JobInput, ctx: PipelineContext) {
  const last = lastRequestOf(input);
  if (input.action === 'prompt') {
    const out = await ctx.stages.planner.plan({
      text: input.text,
      state: input.state,
      lastRequest: last,
      userId: input.userId,
    });
    return { ...out, request: out.request && withOptions(out.request, input.options) };
  }
  if (!last) throw new PermanentJobError(`there is nothing to ${input.action} yet: ask for a motion first`);
  const request = applyAction(last, input.action, {
    seed: input.options.seed,
    continueText: input.action === 'continue' ? input.text : undefined,
    continueFromId: input.lastMotionIds[0],
  });
  const state = ctx.stages.planner.adoptRequest ? ctx.stages.planner.adoptRequest(input.state, request) : input.state;
  return { request, reply: describeAction(input.action, request), notes: [], planner: 'button', state };
}

function describeAction(action: JobInput['action'], r: MotionRequest): string {
  const what = r.segments.map((s) => s.text).join(', then ');
  switch (action) {
    case 'reroll':
      return `Another take of: ${what}`;
    case 'variations':
      return `Four variations of: ${what}`;
    case 'slower':
      return `Slower (speed ${r.speed}×): ${what}`;
    case 'faster':
      return `Faster (speed ${r.speed}×): ${what}`;
    default:
      return `Continuing with: ${what}`;
  }
}

function saveVideo(dataDir: string, jobId: string, mp4: Buffer): string {
  const dir = join(dataDir, 'videos');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${jobId}.mp4`);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, mp4);
  renameSync(tmp, path);
  return path;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

export async function runJob(input: JobInput, ctx: PipelineContext): Promise<JobResult> {
  ctx.onProgress({ stage: 'planning' });
  const [plan, planMs] = await timed(() => planStep(input, ctx));
  const base: JobResult = {
    jobId: input.id,
    reply: plan.reply,
    notes: plan.notes,
    planner: plan.planner,
    state: plan.state,
    motionIds: [],
    timingsMs: { plan: planMs },
  };
  if (!plan.request) return base;
  const request = plan.request;

  ctx.onProgress({ stage: 'generating' });
  const [motions, generateMs] = await timed(() => ctx.stages.generator.generate(request));
  if (motions.length === 0) throw new Error(`the ${ctx.stages.generator.name} generator returned no motion`);
  const files = new MotionFiles(ctx.dataDir);
  const motionIds = motions.map((m, i) => {
    const id = `${input.id}-${i}`;
    files.save(id, m);
    return id;
  });

  const state = ctx.stages.planner.recordMotions ? ctx.stages.planner.recordMotions(plan.state, motionIds) : plan.state;

  ctx.onProgress({ stage: 'rendering' });
  const [mp4, renderMs] = await timed(() =>
    ctx.stages.renderer.render(motions, { size: ctx.render.size, fps: ctx.render.fps, title: input.title }),
  );
  const videoPath = saveVideo(ctx.dataDir, input.id, mp4);
  const first: Motion = motions[0];
  return {
    ...base,
    reply: replyAfterGeneration(base.reply, request, first.provenance.fit),
    state,
    request,
    motionIds,
    videoPath,
    seconds: first.numFrames / first.fps,
    numFrames: first.numFrames,
    generator: ctx.stages.generator.name,
    timingsMs: { plan: planMs, generate: generateMs, render: renderMs },
  };
}
