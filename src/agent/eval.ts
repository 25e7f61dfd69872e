/**
 * Field accuracy of a planner on a chat eval set (`test/fixtures/chat-eval.jsonl`). Each case is a
 * conversation; the last turn's request as the planner understood it (before grounding put stand-ins for
 * actions the model does not know) is compared field by field with the expected one: segment count, each
 * segment's text / seconds / control, and samples, speed and seed where the case states them.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { MotionRequest } from '../motion/contracts.js';
import type { Agent } from './agent.js';
import { emptyConversation, pickSample, recordMotion } from './state.js';

const TextExpectation = z.union([z.string(), z.array(z.string()).min(1)]);

export const EvalCaseSchema = z.object({
  id: z.string().min(1),
  turns: z
    .array(
      z.object({
        text: z.string(),
        /** Motion id(s) the caller produced for this turn's request (one per sample). */
        motion: z.union([z.string(), z.array(z.string())]).optional(),
        /** Sample the user picked among `motion`. */
        pick: z.number().int().nonnegative().optional(),
      }),
    )
    .min(1),
  expect: z.union([
    z.object({ chat: z.literal(true) }),
    z.object({
      segments: z
        .array(
          z.object({
            text: TextExpectation,
            seconds: z.number(),
            init: z.unknown().optional(),
            last: z.unknown().optional(),
            keys: z.unknown().optional(),
            continueFrom: z.unknown().optional(),
          }),
        )
        .min(1),
      samples: z.number().optional(),
      speed: z.number().optional(),
      seed: z.union([z.number(), z.literal('changed'), z.literal('same')]).optional(),
    }),
  ]),
});
export type EvalCase = z.infer<typeof EvalCaseSchema>;

export function loadEvalSet(path: string): EvalCase[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read eval set ${path}: ${(err as Error).message}`, { cause: err });
  }
  return text
    .split('\n')
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line)
    .map(([line, n]) => {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        throw new Error(`${path}:${n}: not valid JSON`);
      }
      const r = EvalCaseSchema.safeParse(json);
      if (!r.success)
        throw new Error(`${path}:${n}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return r.data;
    });
}

export interface FieldMiss {
  field: string;
  expected: unknown;
  got: unknown;
}

export interface CaseResult {
  id: string;
  fields: number;
  correct: number;
  misses: FieldMiss[];
  planner: string;
  fallback?: string;
}

export interface EvalReport {
  planner: string;
  cases: number;
  exactCases: number;
  fields: number;
  correctFields: number;
  fieldAccuracy: number;
  caseAccuracy: number;
  fallbacks: number;
  failures: CaseResult[];
  ms: number;
}

/** Same words, ignoring case, punctuation and articles ("Wave the right hand." = "wave right hand"). */
export function sameText(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9 ]+/g, ' ')
      .replace(/\b(a|an|the)\b/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
  return norm(a) === norm(b);
}

export async function runCase(agent: Agent, c: EvalCase): Promise<CaseResult> {
  let state = emptyConversation();
  let previous: MotionRequest | undefined;
  let last: Awaited<ReturnType<Agent['turn']>> | undefined;
  for (const turn of c.turns) {
    previous = state.lastRequest ?? previous;
    last = await agent.turn(state, turn.text, { user: 'eval' });
    state = last.state;
    if (turn.motion !== undefined && last.request)
      state = recordMotion(state, Array.isArray(turn.motion) ? turn.motion : [turn.motion]);
    if (turn.pick !== undefined) state = pickSample(state, turn.pick);
  }
  const result = last as NonNullable<typeof last>;
  // the planner's understanding is scored: grounding's stand-ins for unknown actions are tested on their own
  const score = scoreRequest(c, result.planned ?? result.request, previous);
  return { id: c.id, ...score, planner: result.planner, ...(result.fallback ? { fallback: result.fallback } : {}) };
}

export function scoreRequest(
  c: EvalCase,
  got: MotionRequest | undefined,
  previous: MotionRequest | undefined,
): { fields: number; correct: number; misses: FieldMiss[] } {
  const misses: FieldMiss[] = [];
  let fields = 0;
  const check = (field: string, ok: boolean, expected: unknown, value: unknown) => {
    fields++;
    if (!ok) misses.push({ field, expected, got: value });
  };
  const e = c.expect;
  if ('chat' in e) {
    check(
      'chat',
      got === undefined,
      'no request',
      got?.segments.map((s) => s.text),
    );
    return { fields, correct: fields - misses.length, misses };
  }
  check('request', got !== undefined, 'a request', 'none');
  if (!got) {
    const missed = [
      'segments.length',
      ...e.segments.flatMap((_, i) => [`segments.${i}.text`, `segments.${i}.seconds`, `segments.${i}.control`]),
      'samples',
      'speed',
    ];
    if (e.seed !== undefined) missed.push('seed');
    for (const field of missed) check(field, false, 'a request', undefined);
    return { fields, correct: fields - misses.length, misses };
  }
  check('segments.length', got.segments.length === e.segments.length, e.segments.length, got.segments.length);
  for (const [i, s] of e.segments.entries()) {
    const g = got.segments[i];
    const texts = Array.isArray(s.text) ? s.text : [s.text];
    check(`segments.${i}.text`, !!g && texts.some((t) => sameText(t, g.text)), s.text, g?.text);
    check(`segments.${i}.seconds`, !!g && Math.abs(g.seconds - s.seconds) <= 0.051, s.seconds, g?.seconds);
    const want = Object.fromEntries(
      (['init', 'last', 'keys', 'continueFrom'] as const).filter((k) => s[k] !== undefined).map((k) => [k, s[k]]),
    );
    const have = g?.control ?? {};
    check(`segments.${i}.control`, !!g && isDeepStrictEqual(JSON.parse(JSON.stringify(have)), want), want, g?.control);
  }
  check('samples', got.samples === (e.samples ?? 1), e.samples ?? 1, got.samples);
  check('speed', Math.abs(got.speed - (e.speed ?? 1)) <= 0.051, e.speed ?? 1, got.speed);
  if (e.seed !== undefined) {
    const ok =
      e.seed === 'changed'
        ? previous !== undefined && got.seed !== previous.seed
        : e.seed === 'same'
          ? got.seed === previous?.seed
          : got.seed === e.seed;
    check('seed', ok, e.seed, got.seed);
  }
  return { fields, correct: fields - misses.length, misses };
}

export async function evaluate(agent: Agent, cases: EvalCase[], plannerName: string): Promise<EvalReport> {
  const t0 = performance.now();
  const results: CaseResult[] = [];
  for (const c of cases) results.push(await runCase(agent, c));
  const fields = results.reduce((s, r) => s + r.fields, 0);
  const correctFields = results.reduce((s, r) => s + r.correct, 0);
  const exactCases = results.filter((r) => !r.misses.length).length;
  return {
    planner: plannerName,
    cases: results.length,
    exactCases,
    fields,
    correctFields,
    fieldAccuracy: fields ? correctFields / fields : 0,
    caseAccuracy: results.length ? exactCases / results.length : 0,
    fallbacks: results.filter((r) => r.fallback).length,
    failures: results.filter((r) => r.misses.length),
    ms: Math.round(performance.now() - t0),
  };
}
