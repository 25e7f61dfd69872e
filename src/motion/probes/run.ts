/**
 * Acting probes: chat prompts paired with physical checks on the joints the production path generates for
 * them. Each probe runs over its seeds and passes when its checks pass in at least `passSeeds` of them (2 of 3
 * by default); the report gives every probe, every category and the overall pass rate.
 *
 * The runner is given a planner (the agent's plan → MotionRequest) and an engine; src/motion does not know the
 * agent, so the composition that runs `charades eval --probes` (src/eval-probes.ts) supplies it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Motion, MotionRequest } from '../contracts.js';
import { CheckSchema, runCheck, type Check, type CheckResult } from './checks.js';

export const ProbeSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and -'),
    category: z.string().min(1),
    prompt: z.string().min(1),
    /** Every check must pass. */
    checks: z.array(CheckSchema).min(1),
    /** Every one of these must fail (e.g. "sit on the floor" must not be lying). */
    mustNot: z.array(CheckSchema).default([]),
    /** Seeds for this probe; default the file's. */
    seeds: z.array(z.number().int().nonnegative()).min(1).optional(),
    /** Why the thresholds are what they are (the mocap clips they were measured on). */
    note: z.string().optional(),
  })
  .strict();
export type Probe = z.infer<typeof ProbeSchema>;

export const ProbeFileSchema = z
  .object({
    format: z.literal('charades-probes/1'),
    description: z.string().optional(),
    seeds: z.array(z.number().int().nonnegative()).min(1),
    /** A probe passes when it passes in at least this many of its seeds. */
    passSeeds: z.number().int().positive(),
    probes: z.array(ProbeSchema).min(1),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    for (const [i, p] of f.probes.entries()) {
      if (seen.has(p.id))
        ctx.addIssue({ code: 'custom', path: ['probes', i, 'id'], message: `duplicate probe id "${p.id}"` });
      seen.add(p.id);
      const seeds = p.seeds ?? f.seeds;
      if (f.passSeeds > seeds.length)
        ctx.addIssue({
          code: 'custom',
          path: ['probes', i],
          message: `passSeeds ${f.passSeeds} exceeds the probe's ${seeds.length} seeds`,
        });
    }
  });
export type ProbeFile = z.infer<typeof ProbeFileSchema>;

/** Reads and validates a probe file; every problem is named with its path in the file. */
export function loadProbeFile(path: string): ProbeFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`probe file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const r = ProbeFileSchema.safeParse(json);
  if (!r.success)
    throw new Error(
      `probe file ${path}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** A chat prompt → the request the production planner makes of it. */
export interface ProbePlanner {
  readonly id: string;
  plan(prompt: string): Promise<MotionRequest>;
}

export interface ProbeEngine {
  readonly version: string;
  generate(request: MotionRequest): Promise<{ motions: Motion[] }>;
}

export interface SeedResult {
  seed: number;
  pass: boolean;
  checks: (CheckResult & { check: Check['check']; mustNot: boolean })[];
  /** The kept candidate's fit, when the engine re-ranked. */
  fit?: Motion['provenance']['fit'];
}

export interface ProbeResult {
  id: string;
  category: string;
  prompt: string;
  /** What the planner asked the engine for (first segment texts, seconds). */
  planned: { text: string; seconds: number }[];
  seeds: SeedResult[];
  pass: boolean;
  /** Why the probe could not run (the planner made no request); it counts as failed. */
  error?: string;
}

export interface ProbeReport {
  model: string;
  planner: string;
  passSeeds: number;
  probes: ProbeResult[];
  categories: { category: string; probes: number; passed: number; rate: number }[];
  overall: { probes: number; passed: number; rate: number; seeds: { passed: number; total: number; rate: number } };
  seconds: number;
}

/** One seed of one probe: every check passes and every mustNot check fails. */
export function judgeMotion(
  joints: Float32Array,
  probe: Pick<Probe, 'checks' | 'mustNot'>,
): { pass: boolean; checks: SeedResult['checks'] } {
  const checks = [
    ...probe.checks.map((c) => ({ ...runCheck(joints, c), check: c.check, mustNot: false })),
    ...probe.mustNot.map((c) => ({ ...runCheck(joints, c), check: c.check, mustNot: true })),
  ];
  return { pass: checks.every((c) => c.pass !== c.mustNot), checks };
}

export interface RunProbesOptions {
  /** Only probes whose id or category is listed. */
  only?: readonly string[];
  onProbe?: (r: ProbeResult, index: number, total: number) => void;
}

export async function runProbes(
  file: ProbeFile,
  planner: ProbePlanner,
  engine: ProbeEngine,
  opts: RunProbesOptions = {},
): Promise<ProbeReport> {
  const started = performance.now();
  const probes = opts.only?.length
    ? file.probes.filter((p) => opts.only?.includes(p.id) || opts.only?.includes(p.category))
    : file.probes;
  if (probes.length === 0) throw new Error(`no probe matches ${JSON.stringify(opts.only)}`);
  const results: ProbeResult[] = [];
  for (const [i, probe] of probes.entries()) {
    let request: MotionRequest;
    try {
      request = await planner.plan(probe.prompt);
    } catch (err) {
      const failed: ProbeResult = {
        id: probe.id,
        category: probe.category,
        prompt: probe.prompt,
        planned: [],
        seeds: [],
        pass: false,
        error: (err as Error).message,
      };
      results.push(failed);
      opts.onProbe?.(failed, i, probes.length);
      continue;
    }
    const seeds: SeedResult[] = [];
    for (const seed of probe.seeds ?? file.seeds) {
      // The planner's request as a user would get it, with the probe's seed instead of the planner's.
      const [motion] = (await engine.generate({ ...request, seed, samples: 1 })).motions;
      const judged = judgeMotion(motion.joints, probe);
      seeds.push({ seed, ...judged, ...(motion.provenance.fit ? { fit: motion.provenance.fit } : {}) });
    }
    const result: ProbeResult = {
      id: probe.id,
      category: probe.category,
      prompt: probe.prompt,
      planned: request.segments.map((s) => ({ text: s.text, seconds: s.seconds })),
      seeds,
      pass: seeds.filter((s) => s.pass).length >= file.passSeeds,
    };
    results.push(result);
    opts.onProbe?.(result, i, probes.length);
  }
  return summarise(results, {
    model: engine.version,
    planner: planner.id,
    passSeeds: file.passSeeds,
    seconds: (performance.now() - started) / 1000,
  });
}

function rate(passed: number, total: number): number {
  return total ? passed / total : 0;
}

export function summarise(
  probes: ProbeResult[],
  meta: Pick<ProbeReport, 'model' | 'planner' | 'passSeeds' | 'seconds'>,
): ProbeReport {
  const names = [...new Set(probes.map((p) => p.category))];
  const categories = names.map((category) => {
    const ps = probes.filter((p) => p.category === category);
    const passed = ps.filter((p) => p.pass).length;
    return { category, probes: ps.length, passed, rate: rate(passed, ps.length) };
  });
  const passed = probes.filter((p) => p.pass).length;
  // Per (probe, seed) as well: a side accuracy is the share of requests acted on the asked side, seed by seed.
  const seedsTotal = probes.reduce((n, p) => n + p.seeds.length, 0);
  const seedsPassed = probes.reduce((n, p) => n + p.seeds.filter((s) => s.pass).length, 0);
  const seeds = { passed: seedsPassed, total: seedsTotal, rate: rate(seedsPassed, seedsTotal) };
  return {
    ...meta,
    probes,
    categories,
    overall: { probes: probes.length, passed, rate: rate(passed, probes.length), seeds },
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;

/** The human-readable report: one line per probe (seeds as ✓/✗ with the first failing check), then categories. */
export function formatProbeReport(r: ProbeReport): string {
  const lines = [`acting probes — model ${r.model}, planner ${r.planner}, pass = ${r.passSeeds} of the seeds`, ''];
  for (const p of r.probes) {
    const marks = p.seeds.map((s) => (s.pass ? '✓' : '✗')).join('');
    const failing = p.seeds.flatMap((s) => s.checks.filter((c) => c.pass === c.mustNot)).at(0);
    const why = p.error
      ? ` — ${p.error}`
      : p.pass || !failing
        ? ''
        : ` — ${failing.mustNot ? 'must not: ' : ''}${failing.detail}`;
    lines.push(`${p.pass ? 'PASS' : 'fail'} ${marks} ${p.category.padEnd(10)} ${p.id.padEnd(22)} "${p.prompt}"${why}`);
  }
  lines.push('', '| category | probes | passed | rate |', '| --- | --- | --- | --- |');
  for (const c of r.categories) lines.push(`| ${c.category} | ${c.probes} | ${c.passed} | ${pct(c.rate)} |`);
  lines.push(
    `| **all** | ${r.overall.probes} | ${r.overall.passed} | **${pct(r.overall.rate)}** |`,
    '',
    `seeds passed: ${r.overall.seeds.passed} of ${r.overall.seeds.total} (${pct(r.overall.seeds.rate)})`,
    '',
    `${r.seconds.toFixed(1)} s`,
  );
  return `${lines.join('\n')}\n`;
}
