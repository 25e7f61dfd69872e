/**
 * The publish gate: a trained model goes live only if it beats the live one on every configured metric.
 * Metrics are read by dotted path (`test.fid`) from whatever object the evaluation returned.
 */
import type { GateRule } from './store.js';
import { GateRuleSchema } from './store.js';

/**
 * R-precision top-3 higher and FID lower on the test split (DESIGN.md §7), for motions generated from the
 * Action-GPT descriptions (k = 4), where trainer/evaluate.py writes them into metrics.json (→ manifest.metrics).
 */
export const DEFAULT_GATE: readonly GateRule[] = [
  { metric: 'test.text_to_motion.generated.descriptions_k4.r_precision_top3', better: 'higher' },
  { metric: 'test.text_to_motion.generated.descriptions_k4.fid', better: 'lower' },
];

export interface GateComparison {
  metric: string;
  better: GateRule['better'];
  candidate: number | null;
  live: number | null;
  pass: boolean;
  note: string;
}

export interface GateDecision {
  pass: boolean;
  /** One line a person can read: why it passed or what failed. */
  summary: string;
  comparisons: GateComparison[];
}

export function metricAt(metrics: unknown, path: string): number | null {
  let node: unknown = metrics;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !(key in node)) return null;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'number' && Number.isFinite(node) ? node : null;
}

/** Relative difference under which two metric values are equal (float rounding, not measurement). */
const TIE = 1e-9;

function compare(rule: GateRule, candidateMetrics: unknown, liveMetrics: unknown | null): GateComparison {
  const candidate = metricAt(candidateMetrics, rule.metric);
  const live = liveMetrics === null ? null : metricAt(liveMetrics, rule.metric);
  const base = { metric: rule.metric, better: rule.better, candidate, live };
  if (candidate === null) return { ...base, pass: false, note: `${rule.metric}: the new model has no finite value` };
  if (liveMetrics === null)
    return { ...base, pass: true, note: `${rule.metric} = ${candidate} (no live model to beat)` };
  if (live === null)
    return { ...base, pass: true, note: `${rule.metric} = ${candidate} (the live model has no value to compare)` };
  // The same counts summed in another order differ in the last bits (0.9159722222222223 vs …222): a tie, not a win.
  const tied = Math.abs(candidate - live) <= TIE * Math.max(1, Math.abs(live));
  if (rule.better === 'not-lower') {
    const holds = tied || candidate >= live;
    return {
      ...base,
      pass: holds,
      note: `${rule.metric} ${candidate} vs live ${live}: ${holds ? 'not lower' : 'lower, a regression'}`,
    };
  }
  const beats = !tied && (rule.better === 'higher' ? candidate > live : candidate < live);
  const word = rule.better === 'higher' ? 'higher' : 'lower';
  return {
    ...base,
    pass: beats,
    note: `${rule.metric} ${candidate} vs live ${live}: ${beats ? `${word}, better` : `not ${word}`}`,
  };
}

/** `liveMetrics` null = nothing is live yet, so any model with the metrics passes. */
export function decideGate(
  candidateMetrics: unknown,
  liveMetrics: unknown | null,
  rules: readonly GateRule[] = DEFAULT_GATE,
): GateDecision {
  if (rules.length === 0)
    return { pass: true, summary: 'no gate rules configured: published without comparison', comparisons: [] };
  const comparisons = rules.map((r) => compare(r, candidateMetrics, liveMetrics));
  const failed = comparisons.filter((c) => !c.pass);
  const summary =
    failed.length === 0
      ? `gate passed: ${comparisons.map((c) => c.note).join('; ')}`
      : `gate failed: ${failed.map((c) => c.note).join('; ')}`;
  return { pass: failed.length === 0, summary, comparisons };
}

/** Parses `metric:higher,metric:lower` (the CLI's --gate) into rules, with a message naming the bad part. */
export function parseGateRules(text: string): GateRule[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const at = part.lastIndexOf(':');
      const rule = GateRuleSchema.safeParse({
        metric: at > 0 ? part.slice(0, at) : part,
        better: at > 0 ? part.slice(at + 1) : '',
      });
      if (!rule.success)
        throw new Error(
          `--gate: '${part}' should be METRIC:higher, METRIC:lower or METRIC:not-lower (e.g. test.fid:lower)`,
        );
      return rule.data;
    });
}
