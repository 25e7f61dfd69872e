/**
 * Shared benchmark helpers. Every benchmark prints exactly ONE JSON object on stdout (so scripts can
 * parse it) and a short human table on stderr (so people can read it without disturbing the JSON).
 */
import os from 'node:os';

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
}

export interface TimeItOptions {
  /** Calls whose time is thrown away (JIT, caches, lazy loading). Default 1. */
  warmup?: number;
  /** Timed calls. Default 10. */
  runs?: number;
}

export type Row = Record<string, string | number | boolean | null | undefined>;

/**
 * The p-th percentile (0–100) with linear interpolation between closest ranks (numpy's default
 * "linear" method), so p50 of an even-length list is the mean of the two middle values.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile: values is empty');
  if (!Number.isFinite(p) || p < 0 || p > 100) throw new Error(`percentile: p must be within 0–100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Count, mean, median, 95th percentile, min and max of a list of timings (or any numbers). */
export function summarize(ms: readonly number[]): Summary {
  if (ms.length === 0) throw new Error('summarize: no values');
  const sum = ms.reduce((a, b) => a + b, 0);
  return {
    n: ms.length,
    mean: sum / ms.length,
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    min: Math.min(...ms),
    max: Math.max(...ms),
  };
}

/** Runs fn (sync or async) warmup + runs times and returns the wall time of each timed run in ms. */
export async function timeIt(fn: () => unknown, options: TimeItOptions = {}): Promise<number[]> {
  const warmup = options.warmup ?? 1;
  const runs = options.runs ?? 10;
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`timeIt: warmup must be an integer ≥ 0, got ${warmup}`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`timeIt: runs must be an integer ≥ 1, got ${runs}`);
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

/** Resident set size of this process in MiB. */
export function rssMb(): number {
  return process.memoryUsage().rss / (1024 * 1024);
}

/** The machine a number was measured on; timings mean little without it. */
export function machineInfo(): { cpus: number; cpuModel: string; node: string; platform: string } {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

function formatCell(v: Row[string]): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) >= 100 ? 1 : 3);
  return v === undefined || v === null ? '' : String(v);
}

/** An aligned plain-text table (columns = union of the rows' keys, in first-seen order). */
export function formatTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '';
  const columns: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** The single JSON object a benchmark reports: its name, its numbers, and the machine. */
export function benchResult(name: string, json: Record<string, unknown>): Record<string, unknown> {
  return { bench: name, ...json, machine: machineInfo() };
}

/** Prints the result object as one JSON line on stdout and the rows as a table on stderr; returns the object. */
export function report(
  name: string,
  json: Record<string, unknown>,
  rows: readonly Row[] = [],
): Record<string, unknown> {
  const result = benchResult(name, json);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  const table = formatTable(rows);
  process.stderr.write(`# ${name}\n${table ? `${table}\n` : ''}`);
  return result;
}
