/**
 * The contracts of Charades, defined once and imported everywhere (DESIGN.md §4):
 * `Motion` (what generators produce and renderers draw), `MotionRequest` (what the agent asks the
 * engine for) and `ModelManifest` (what a trained model version promises to the engine).
 */
import { z } from 'zod';
import { FPS, NUM_JOINTS } from './skeleton.js';

// ---------------------------------------------------------------- Motion

export const MotionSegmentSchema = z.object({
  text: z.string(),
  /** What the video calls the segment when it differs from the model's text: the user's words a pantomime acts out. */
  caption: z.string().optional(),
  /** First frame of the segment (inclusive). */
  start: z.number().int().nonnegative(),
  /** Last frame of the segment (exclusive). */
  end: z.number().int().nonnegative(),
});
export type MotionSegment = z.infer<typeof MotionSegmentSchema>;

export const ProvenanceSchema = z.object({
  source: z.string().describe('"model:<version>", "dataset:<clip id>", "file:<path>" …'),
  modelVersion: z.string().optional(),
  seed: z.number().int().optional(),
  request: z.unknown().optional(),
  createdAt: z.string().optional(),
  /**
   * How well the kept sample matches the request, from best-of-N re-ranking: the evaluator's text–motion
   * cosine of the kept candidate (`score`), how many candidates were scored, and whether the score is below
   * the model's confidence threshold, so replies can say when the result may not show what was asked.
   */
  fit: z
    .object({
      score: z.number(),
      candidates: z.number().int().positive(),
      threshold: z.number(),
      unsure: z.boolean(),
    })
    .optional(),
  /** The kept candidate is a generated one reflected left ↔ right, so that it acts on the side the words name. */
  mirrored: z.boolean().optional(),
  /** Rounds of candidates sampled: more than 1 when the first kept one did not clearly do what the words ask. */
  looks: z.number().int().positive().optional(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

export const MotionSchema = z
  .object({
    fps: z.number().positive(),
    numFrames: z.number().int().nonnegative(),
    /** Global joint positions, T×22×3, metres, Y up. */
    joints: z.instanceof(Float32Array),
    /** Optional local joint rotations, T×22×4 quaternions (w, x, y, z); joint 0 is the global root orientation. */
    rotations: z.instanceof(Float32Array).optional(),
    /** Rest offsets (22×3, parent frame) that `rotations` are relative to. */
    restOffsets: z
      .array(z.tuple([z.number(), z.number(), z.number()]))
      .length(NUM_JOINTS)
      .optional(),
    segments: z.array(MotionSegmentSchema).default([]),
    provenance: ProvenanceSchema.default({ source: 'unknown' }),
  })
  .superRefine((m, ctx) => {
    if (m.joints.length !== m.numFrames * NUM_JOINTS * 3) {
      ctx.addIssue({
        code: 'custom',
        path: ['joints'],
        message: `expected ${m.numFrames}×${NUM_JOINTS}×3 = ${m.numFrames * NUM_JOINTS * 3} values, got ${m.joints.length}`,
      });
    }
    if (m.rotations && m.rotations.length !== m.numFrames * NUM_JOINTS * 4) {
      ctx.addIssue({
        code: 'custom',
        path: ['rotations'],
        message: `expected ${m.numFrames}×${NUM_JOINTS}×4 values, got ${m.rotations.length}`,
      });
    }
    for (const [i, s] of m.segments.entries()) {
      if (s.end < s.start || s.end > m.numFrames) {
        ctx.addIssue({
          code: 'custom',
          path: ['segments', i],
          message: `segment frames ${s.start}–${s.end} outside 0–${m.numFrames}`,
        });
      }
    }
  });
export type Motion = z.infer<typeof MotionSchema>;

/** Builds a validated Motion; throws a readable error when the arrays do not match. */
export function makeMotion(input: z.input<typeof MotionSchema>): Motion {
  const r = MotionSchema.safeParse(input);
  if (!r.success)
    throw new Error(`invalid motion: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

// ---------------------------------------------------------------- MotionRequest

export const LIMITS = {
  minSegmentSeconds: 0.5,
  maxSegmentSeconds: 12,
  maxRequestSeconds: 30,
  maxSamples: 4,
  maxSegments: 8,
  maxTextLength: 300,
} as const;

export const NAMED_POSES = [
  't-pose',
  'a-pose',
  'standing',
  'hands-up',
  'crouching',
  'sitting',
  'kneeling',
  'lying',
  // postures text alone cannot hold: taken from frames of the motion data where it has them
  'on-all-fours',
  'kneeling-up',
  'sitting-floor',
  'sitting-chair',
  'lying-back',
  'lying-front',
  'squatting',
  'arms-raised',
  'reaching-down',
  // limb gestures the data holds in one or two clips (kicks, punches) or not at all (claps): joint angles
  'kick-left',
  'kick-right',
  'knee-up-left',
  'knee-up-right',
  'punch-left',
  'punch-right',
  'arms-forward',
  'hands-together',
  'trunk',
  'guard',
] as const;
export type NamedPose = (typeof NAMED_POSES)[number];

/** A finished motion a request can refer to: by id in the store, or by a file path (CLI). */
export const MotionRefSchema = z.union([
  z.object({ id: z.string().min(1) }).strict(),
  z.object({ path: z.string().min(1) }).strict(),
]);
export type MotionRef = z.infer<typeof MotionRefSchema>;

export const PoseRefSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('named'), name: z.enum(NAMED_POSES) }),
  /** A frame of an earlier motion; negative frames count from the end (-1 = last frame). */
  z.object({ kind: z.literal('frame'), motion: MotionRefSchema, frame: z.number().int() }),
  /** An uploaded pose: 22×3 joint positions in metres (BVH / JSON uploads are converted to this). */
  z.object({
    kind: z.literal('joints'),
    joints: z.array(z.number()).length(NUM_JOINTS * 3),
    label: z.string().optional(),
  }),
]);
export type PoseRef = z.infer<typeof PoseRefSchema>;

export const SegmentControlSchema = z.object({
  init: PoseRefSchema.optional(),
  last: PoseRefSchema.optional(),
  keys: z
    .array(z.object({ at: z.number().nonnegative(), pose: PoseRefSchema }))
    .max(20)
    .optional(),
  continueFrom: MotionRefSchema.optional(),
});
export type SegmentControl = z.infer<typeof SegmentControlSchema>;

export const RequestSegmentSchema = z.object({
  text: z.string().trim().min(1, 'the action text is empty').max(LIMITS.maxTextLength),
  /** Action-GPT descriptions of `text` (k = 4 in the paper); absent or empty = use the phrase itself. */
  descriptions: z.array(z.string().min(1)).max(8).optional(),
  /** The caption the video shows for this segment instead of `text` ("act like a dog" for a crawl step). */
  caption: z.string().trim().min(1).max(LIMITS.maxTextLength).optional(),
  seconds: z.number().min(LIMITS.minSegmentSeconds).max(LIMITS.maxSegmentSeconds),
  control: SegmentControlSchema.optional(),
});
export type RequestSegment = z.infer<typeof RequestSegmentSchema>;

export const MotionRequestSchema = z
  .object({
    segments: z.array(RequestSegmentSchema).min(1).max(LIMITS.maxSegments),
    samples: z.union([z.literal(1), z.literal(4)]).default(1),
    seed: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 31 - 1)
      .default(0),
    temperature: z.number().positive().max(2).default(1),
    /** Playback speed factor: 0.5 = half speed (twice as long), 2 = double speed. */
    speed: z.number().min(0.25).max(4).default(1),
    guidance: z.number().min(0).max(10).optional(),
    modelVersion: z.string().optional(),
    /**
     * Make the motion hit its init / last / key poses exactly (the engine blends each controlled frame onto the
     * pose with a smooth falloff); absent = true. False leaves only the model's own following of the controls.
     */
    pinPoses: z.boolean().optional(),
  })
  .superRefine((r, ctx) => {
    const total = r.segments.reduce((s, x) => s + x.seconds, 0) / r.speed;
    if (total > LIMITS.maxRequestSeconds + 1e-9) {
      ctx.addIssue({
        code: 'custom',
        path: ['segments'],
        message: `the request is ${total.toFixed(1)} s long; the limit is ${LIMITS.maxRequestSeconds} s`,
      });
    }
  });
export type MotionRequest = z.infer<typeof MotionRequestSchema>;
export type MotionRequestInput = z.input<typeof MotionRequestSchema>;

/** Parses a request, turning zod's issues into one sentence a user can act on. */
export function parseMotionRequest(input: unknown): MotionRequest {
  const r = MotionRequestSchema.safeParse(input);
  if (!r.success)
    throw new Error(
      `invalid motion request: ${r.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

// ---------------------------------------------------------------- Model manifest

export const OnnxFileSchema = z.object({
  file: z.string(),
  inputs: z.array(z.string()).min(1),
  outputs: z.array(z.string()).min(1),
});

export const ModelManifestSchema = z.object({
  format: z.literal('charades-model/1'),
  version: z.string().min(1),
  created: z.string(),
  license: z.string(),
  skeleton: z.object({ joints: z.literal(NUM_JOINTS), fps: z.literal(FPS) }),
  features: z.object({
    layout: z.string(),
    dim: z.number().int().positive(),
    mean: z.array(z.number()),
    std: z.array(z.number()),
  }),
  vq: z.object({
    codebookSize: z.number().int().positive(),
    numCodebooks: z.number().int().positive(),
    downsample: z.number().int().positive(),
    codeDim: z.number().int().positive(),
  }),
  textEncoder: z.object({ id: z.string(), dim: z.number().int().positive() }),
  /** Architecture facts the engine needs for incremental decoding (layers, heads, vocabulary, specials, tasks). */
  gpt: z.record(z.string(), z.unknown()),
  onnx: z.record(z.string(), OnnxFileSchema),
  training: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.unknown()),
  /** sha256 (hex) of every file in the version folder other than manifest.json. */
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;
