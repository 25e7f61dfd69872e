/**
 * `charades motion "PROMPT" [more prompts…]`: text → motion file through the engine, with every control of the
 * request contract on the command line. Several prompts make a multi-segment motion ("wave" "sit down").
 */
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  NAMED_POSES,
  parseMotionRequest,
  type Motion,
  type MotionRequest,
  type NamedPose,
  type PoseRef,
} from '../contracts.js';
import { createEngine, type Engine } from '../engine/engine.js';
import {
  EXPORT_FORMATS,
  exportFormatFromPath,
  parseExportFormat,
  writeMotionExport,
  type ExportFormat,
} from '../engine/exports.js';

export interface MotionCliOptions {
  seconds?: string[];
  seed?: string;
  samples?: string;
  init?: string;
  last?: string;
  key?: string[];
  continue?: string;
  format?: string;
  output?: string;
  temperature?: string;
  guidance?: string;
  speed?: string;
  /** false with --no-pin: poses are only followed by the model, not pinned. */
  pin?: boolean;
  describe?: string[];
  model?: string;
  modelVersion?: string;
  models?: string;
  json?: boolean;
}

function number(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} must be a number, got "${value}"`);
  return n;
}

/**
 * A pose on the command line: a named pose (`sitting`), or a motion file with an optional frame
 * (`pose.bvh`, `walk.json#-1` = its last frame).
 */
export function parsePoseArg(value: string, flag: string): PoseRef {
  if ((NAMED_POSES as readonly string[]).includes(value)) return { kind: 'named', name: value as NamedPose };
  const m = /^(.*?)(?:#(-?\d+))?$/.exec(value) as RegExpExecArray;
  const path = m[1];
  if (existsSync(path))
    return { kind: 'frame', motion: { path: resolve(path) }, frame: m[2] === undefined ? 0 : Number(m[2]) };
  throw new Error(
    `${flag} "${value}": not a named pose (${NAMED_POSES.join(', ')}) and no such file (BVH / JSON / NPY, optionally FILE#FRAME)`,
  );
}

/** `--key 1.5=hands-up` or `--key 2=pose.bvh#10`. */
export function parseKeyArg(value: string): { at: number; pose: PoseRef } {
  const eq = value.indexOf('=');
  if (eq < 1) throw new Error(`--key "${value}": expected SECONDS=POSE, e.g. 1.5=hands-up`);
  return {
    at: number(value.slice(0, eq), `--key "${value}": the time`),
    pose: parsePoseArg(value.slice(eq + 1), `--key "${value}"`),
  };
}

/** The MotionRequest the options describe (validated by the contract, so messages name the field). */
export function requestFromCli(prompts: string[], o: MotionCliOptions): MotionRequest {
  const seconds = (o.seconds ?? ['4']).map((s) => number(s, '--seconds'));
  if (seconds.length !== 1 && seconds.length !== prompts.length) {
    throw new Error(
      `--seconds was given ${seconds.length} times for ${prompts.length} prompts; give it once (all segments) or once per prompt`,
    );
  }
  const segments = prompts.map((text, i) => ({
    text,
    seconds: seconds.length === 1 ? seconds[0] : seconds[i],
    control: {} as Record<string, unknown>,
  }));
  const first = segments[0].control;
  const lastSeg = segments[segments.length - 1].control;
  if (o.init) first.init = parsePoseArg(o.init, '--init');
  if (o.continue) {
    if (!existsSync(o.continue)) throw new Error(`--continue ${o.continue}: no such file`);
    first.continueFrom = { path: resolve(o.continue) };
  }
  if (o.last) lastSeg.last = parsePoseArg(o.last, '--last');
  if (o.key?.length) {
    if (prompts.length > 1) throw new Error('--key works with one prompt (key times are seconds into that segment)');
    first.keys = o.key.map(parseKeyArg);
  }
  if (o.describe?.length) {
    if (prompts.length > 1) throw new Error('--describe works with one prompt (the descriptions are of that action)');
    Object.assign(segments[0], { descriptions: o.describe });
  }
  return parseMotionRequest({
    segments,
    samples: o.samples === undefined ? 1 : number(o.samples, '--samples'),
    seed: o.seed === undefined ? 0 : number(o.seed, '--seed'),
    ...(o.temperature !== undefined ? { temperature: number(o.temperature, '--temperature') } : {}),
    ...(o.guidance !== undefined ? { guidance: number(o.guidance, '--guidance') } : {}),
    ...(o.speed !== undefined ? { speed: number(o.speed, '--speed') } : {}),
    ...(o.pin === false ? { pinPoses: false } : {}),
  });
}

/** `out.bvh` for one sample; `out-1.bvh` … `out-4.bvh` for four. */
export function samplePaths(output: string, count: number): string[] {
  if (count === 1) return [output];
  const ext = extname(output);
  const stem = join(dirname(output), basename(output, ext));
  return Array.from({ length: count }, (_, i) => `${stem}-${i + 1}${ext}`);
}

export interface MotionCliResult {
  files: string[];
  format: ExportFormat;
  model: string;
  provider: string;
  frames: number;
  seconds: number;
  generateMs: number;
}

export async function runMotionCommand(
  prompts: string[],
  o: MotionCliOptions,
  engineIn?: Engine,
): Promise<MotionCliResult> {
  if (!o.output) throw new Error('-o FILE is required (the format follows the extension, or --format)');
  const format = o.format ? parseExportFormat(o.format, '--format') : exportFormatFromPath(o.output);
  if (!format)
    throw new Error(
      `-o ${o.output}: cannot tell the format from the extension; use .bvh, .glb, .npy or .json, or --format ${EXPORT_FORMATS.join('|')}`,
    );
  const request = requestFromCli(prompts, o);
  const engine = engineIn ?? (await createEngine({ modelDir: o.model, modelsDir: o.models, version: o.modelVersion }));
  try {
    const t0 = performance.now();
    const { motions } = await engine.generate(request);
    const generateMs = performance.now() - t0;
    const files = samplePaths(resolve(o.output), motions.length);
    await Promise.all(motions.map((m: Motion, i) => writeMotionExport(m, files[i], format)));
    return {
      files,
      format,
      model: engine.version,
      provider: engine.provider,
      frames: motions[0].numFrames,
      seconds: motions[0].numFrames / motions[0].fps,
      generateMs,
    };
  } finally {
    if (!engineIn) await engine.close();
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerMotionCommand(program: Command): void {
  program
    .command('motion')
    .description(
      'generate a motion from text and save it as BVH, GLB, NPY or JSON (several prompts = one motion in segments)',
    )
    .argument('<prompt...>', 'what the person does; several prompts play one after another')
    .requiredOption('-o, --output <file>', 'output file (.bvh, .glb, .npy, .json); with --samples 4: FILE-1 … FILE-4')
    .option('-s, --seconds <s>', 'duration in seconds (0.5–12); once for all prompts or once per prompt', collect)
    .option('--seed <n>', 'random seed (same seed, same motion)', '0')
    .option('--samples <n>', '1 or 4 samples', '1')
    .option('--init <pose>', `start pose: ${NAMED_POSES.join(', ')}, or FILE[#FRAME] (BVH/JSON/NPY)`)
    .option('--last <pose>', 'end pose (same forms as --init)')
    .option('--key <t=pose>', 'key pose at t seconds, e.g. 1.5=hands-up (repeatable)', collect)
    .option('--continue <file>', 'continue an earlier motion (BVH/JSON/NPY)')
    .option(
      '-d, --describe <text>',
      'an Action-GPT description of the prompt (repeatable; default: the prompt itself)',
      collect,
    )
    .option('--temperature <t>', 'sampling temperature (0 = greedy)')
    .option('--guidance <s>', "classifier-free guidance scale (1 = off; default: the model's)")
    .option('--speed <x>', 'playback speed (0.5 = half speed)')
    .option('--no-pin', 'let the model follow --init/--last/--key poses without pinning them exactly')
    .option('--format <fmt>', `output format (${EXPORT_FORMATS.join(', ')}) when the extension does not say`)
    .option('--model <dir>', 'a model version folder (default: the live version of the registry)')
    .option('--model-version <v>', 'a version in the registry')
    .option('--models <dir>', 'the model registry (default CHARADES_MODELS or models/)')
    .option('--json', 'print the result as JSON')
    .action(async (prompts: string[], o: MotionCliOptions) => {
      const r = await runMotionCommand(prompts, o);
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else
        process.stdout.write(
          `wrote ${r.files.join(', ')} (${r.format}, ${r.frames} frames, ${r.seconds.toFixed(2)} s; model ${r.model} on ${r.provider}, ${r.generateMs.toFixed(0)} ms)\n`,
        );
    });
}
