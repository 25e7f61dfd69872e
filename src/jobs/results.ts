/**
 * Completion records: a BullMQ worker writes each finished job's result to `results/<jobId>.json` in
 * the shared data directory, next to the job's video and motion files. Redis keeps the same result only
 * for a while (removeOnComplete), so a bot that comes back after a long outage still finds what was
 * made for its users here and can deliver it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobResult } from './types.js';

function resultPath(dataDir: string, jobId: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(jobId))
    throw new Error(`invalid job id "${jobId}": letters, digits, '.', '_' and '-' only`);
  return join(dataDir, 'results', `${jobId}.json`);
}

/** Atomic (temp file + rename): a worker killed mid-write leaves no half record a bot could misread. */
export function saveJobResult(dataDir: string, result: JobResult): string {
  const path = resultPath(dataDir, result.jobId);
  mkdirSync(join(dataDir, 'results'), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(result));
  renameSync(tmp, path);
  return path;
}

/** The stored result of a job, or undefined when no worker finished it (or the record is unreadable). */
export function loadJobResult(dataDir: string, jobId: string): JobResult | undefined {
  const path = resultPath(dataDir, jobId);
  if (!existsSync(path)) return undefined;
  try {
    const result = JSON.parse(readFileSync(path, 'utf8')) as JobResult | null;
    return result && typeof result === 'object' && result.jobId === jobId ? result : undefined;
  } catch {
    return undefined;
  }
}
