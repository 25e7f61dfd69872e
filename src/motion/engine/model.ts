/**
 * Loading one model version (`models/<version>/`): manifest (zod), sha256 of every file, the text encoder it
 * was trained with, the feature layout, and the ONNX graphs' actual IO names against trainer/ONNX.md. Any
 * mismatch is refused with a message that names the file and what differs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { ModelManifestSchema, type ModelManifest } from '../contracts.js';
import { FEATURE_DIM, FEATURE_LAYOUT } from '../features.js';
import { sha256Hex } from '../hash.js';
import { SIDES } from '../text/side.js';
import { createSession, type ExecutionProvider, type ProviderLog } from './providers.js';

/** The graphs and IO names the engine drives (trainer/ONNX.md). */
export const REQUIRED_IO = {
  vq_encoder: { inputs: ['features'], outputs: ['codes'] },
  vq_decoder: { inputs: ['codes'], outputs: ['features'] },
  gpt: {
    inputs: ['tokens', 'pos', 'text_emb', 'text_mask', 'task', 'duration', 'past_key_values'],
    outputs: ['logits', 'present_key_values'],
  },
} as const;
export type GraphName = keyof typeof REQUIRED_IO;

/** A graph's expected inputs: a GPT trained with the side signal (manifest gpt.sides) takes `side` as well. */
export function expectedInputs(graph: GraphName, manifest: ModelManifest): readonly string[] {
  const base = REQUIRED_IO[graph].inputs;
  const sided = graph === 'gpt' && typeof manifest.gpt === 'object' && manifest.gpt !== null && 'sides' in manifest.gpt;
  return sided ? [...base, 'side'] : base;
}

export const TASK_NAMES = ['text', 'init_pose', 'last_pose', 'key_poses', 'continue', 'action_duration'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

const int = z.number().int();
export const GptSpecSchema = z.object({
  layers: int.positive(),
  heads: int.positive(),
  headDim: int.positive(),
  vocab: int.positive(),
  numCodebooks: int.positive(),
  maxTokens: int.positive(),
  textDim: int.positive(),
  specialTokens: z.object({ controlOffset: int.nonnegative(), bos: int.nonnegative(), pad: int.nonnegative() }),
  tasks: z.object(Object.fromEntries(TASK_NAMES.map((t) => [t, int.nonnegative()])) as Record<TaskName, z.ZodNumber>),
  sampling: z.object({
    temperature: z.number().nonnegative(),
    topK: int.nonnegative().default(0),
    topP: z.number().positive().max(1).optional(),
    guidance: z.number().nonnegative(),
  }),
  maxControls: int.positive(),
  maxPastTokens: int.positive(),
  /** Present when the model was trained with the side signal: its GPT takes a `side` input with these ids. */
  sides: z
    .object({
      none: z.literal(SIDES.none),
      left: z.literal(SIDES.left),
      right: z.literal(SIDES.right),
      both: z.literal(SIDES.both),
    })
    .optional(),
});
export type GptSpec = z.infer<typeof GptSpecSchema>;

export interface ExpectedEncoder {
  id: string;
  dim: number;
}

export interface LoadModelOptions {
  /** The configured text encoder; the model must have been trained on the same one. */
  encoder: ExpectedEncoder;
  providers?: readonly ExecutionProvider[];
  threads?: number;
  log?: ProviderLog;
  /** Skip hashing (only for a folder that was verified moments ago, e.g. a hot-swap of the same version). */
  skipHashCheck?: boolean;
}

export interface LoadedModel {
  dir: string;
  manifest: ModelManifest;
  gpt: GptSpec;
  sessions: Record<GraphName, ort.InferenceSession>;
  /** Provider each graph ended up on. */
  providers: Record<GraphName, ExecutionProvider>;
  close(): Promise<void>;
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
}

export function readManifest(dir: string): ModelManifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new Error(`model folder ${dir} has no manifest.json`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const r = ModelManifestSchema.safeParse(json);
  if (!r.success) throw new Error(`${path}: not a charades-model/1 manifest: ${issues(r.error)}`);
  return r.data;
}

export function parseGptSpec(manifest: ModelManifest, path: string): GptSpec {
  const r = GptSpecSchema.safeParse(manifest.gpt);
  if (!r.success) throw new Error(`${path}: gpt section: ${issues(r.error)}`);
  const g = r.data;
  if (g.vocab !== manifest.vq.codebookSize || g.numCodebooks !== manifest.vq.numCodebooks) {
    throw new Error(
      `${path}: gpt vocab ${g.vocab}×${g.numCodebooks} does not match vq codebooks ${manifest.vq.codebookSize}×${manifest.vq.numCodebooks}`,
    );
  }
  if (g.textDim !== manifest.textEncoder.dim)
    throw new Error(`${path}: gpt.textDim ${g.textDim} but textEncoder.dim ${manifest.textEncoder.dim}`);
  return g;
}

/** Everything in the manifest that can be checked without running a graph. */
export function checkManifest(manifest: ModelManifest, dir: string, encoder: ExpectedEncoder): void {
  const path = join(dir, 'manifest.json');
  if (manifest.features.layout !== FEATURE_LAYOUT || manifest.features.dim !== FEATURE_DIM) {
    throw new Error(
      `${path}: model uses feature layout ${manifest.features.layout} (${manifest.features.dim} dims); this engine speaks ${FEATURE_LAYOUT} (${FEATURE_DIM})`,
    );
  }
  if (manifest.textEncoder.id !== encoder.id || manifest.textEncoder.dim !== encoder.dim) {
    throw new Error(
      `${path}: model ${manifest.version} was trained with text encoder ${manifest.textEncoder.id} (${manifest.textEncoder.dim}-d), ` +
        `but the configured encoder is ${encoder.id} (${encoder.dim}-d); set CHARADES_TEXT_ENCODER to match or pick another model version`,
    );
  }
  if (manifest.vq.downsample !== 4)
    throw new Error(`${path}: vq.downsample is ${manifest.vq.downsample}; the engine supports 4 (20 fps → 5 tokens/s)`);
  for (const [graph, io] of Object.entries(REQUIRED_IO) as [GraphName, (typeof REQUIRED_IO)[GraphName]][]) {
    const entry = manifest.onnx[graph];
    if (!entry)
      throw new Error(`${path}: onnx.${graph} is missing (the engine needs ${Object.keys(REQUIRED_IO).join(', ')})`);
    for (const side of ['inputs', 'outputs'] as const) {
      const want = [...(side === 'inputs' ? expectedInputs(graph, manifest) : io.outputs)].sort().join(', ');
      const got = [...entry[side]].sort().join(', ');
      if (want !== got)
        throw new Error(`${path}: onnx.${graph}.${side} are [${got}], the engine expects [${want}] (trainer/ONNX.md)`);
    }
    if (!(entry.file in manifest.files))
      throw new Error(`${path}: ${entry.file} (onnx.${graph}) has no sha256 in files`);
  }
}

/** Reads every listed file, refusing a missing or altered one; returns the bytes of each. */
export function verifyFiles(manifest: ModelManifest, dir: string, skipHash = false): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [file, expected] of Object.entries(manifest.files)) {
    const path = join(dir, file);
    if (!existsSync(path))
      throw new Error(`model ${manifest.version}: ${path} is listed in manifest.files but missing`);
    const bytes = readFileSync(path);
    if (!skipHash) {
      const actual = sha256Hex(bytes);
      if (actual !== expected)
        throw new Error(
          `model ${manifest.version}: ${path} has sha256 ${actual}, the manifest says ${expected} (corrupt or replaced file)`,
        );
    }
    out.set(file, bytes);
  }
  return out;
}

function checkSessionIo(session: ort.InferenceSession, graph: GraphName, file: string, manifest: ModelManifest): void {
  const io = REQUIRED_IO[graph];
  for (const [side, actual] of [
    ['inputs', session.inputNames],
    ['outputs', session.outputNames],
  ] as const) {
    const want = [...(side === 'inputs' ? expectedInputs(graph, manifest) : io.outputs)].sort().join(', ');
    const got = [...actual].sort().join(', ');
    if (want !== got)
      throw new Error(`${file}: the ONNX graph's ${side} are [${got}], but the manifest and engine expect [${want}]`);
  }
}

/** Loads and verifies a model version; sessions are created on the first working execution provider. */
export async function loadModel(dirIn: string, opts: LoadModelOptions): Promise<LoadedModel> {
  const dir = resolve(dirIn);
  const manifest = readManifest(dir);
  checkManifest(manifest, dir, opts.encoder);
  const gpt = parseGptSpec(manifest, join(dir, 'manifest.json'));
  const bytes = verifyFiles(manifest, dir, opts.skipHashCheck);
  const sessions = {} as Record<GraphName, ort.InferenceSession>;
  const providers = {} as Record<GraphName, ExecutionProvider>;
  try {
    for (const graph of Object.keys(REQUIRED_IO) as GraphName[]) {
      const file = join(dir, manifest.onnx[graph].file);
      const created = await createSession(bytes.get(manifest.onnx[graph].file) as Buffer, file, {
        providers: opts.providers ?? ['cpu'],
        threads: opts.threads,
        log: opts.log,
      });
      sessions[graph] = created.session;
      providers[graph] = created.provider;
      checkSessionIo(created.session, graph, file, manifest);
    }
  } catch (err) {
    await Promise.all(Object.values(sessions).map((s) => s.release()));
    throw err;
  }
  return {
    dir,
    manifest,
    gpt,
    sessions,
    providers,
    async close() {
      await Promise.all(Object.values(sessions).map((s) => s.release()));
    },
  };
}
