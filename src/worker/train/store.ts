/**
 * Training jobs, persisted in their own SQLite file (`<dataDir>/training.sqlite`, table `training_jobs`) so a
 * worker that crashed or restarted finds its job again and resumes it. Claiming is one IMMEDIATE transaction:
 * whichever process gets the write lock first takes the job, and at most one job runs at a time across all
 * training workers sharing the file.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { z } from 'zod';

export const TRAINING_DB_FILE = 'training.sqlite';

export const JOB_STATES = ['queued', 'running', 'cancelling', 'cancelled', 'failed', 'rejected', 'published'] as const;
export type TrainingJobState = (typeof JOB_STATES)[number];
export const FINAL_STATES: readonly TrainingJobState[] = ['cancelled', 'failed', 'rejected', 'published'];

export const GateRuleSchema = z.object({
  /** Dotted path into the metrics object, e.g. `test.r_precision_top3`. */
  metric: z.string().min(1),
  /** `not-lower`: no regression — the candidate may equal the live model (counts such as acting probes passed). */
  better: z.enum(['higher', 'lower', 'not-lower']),
});
export type GateRule = z.infer<typeof GateRuleSchema>;

export const TrainingSpecSchema = z.object({
  /** Motion data folders; empty = the default features cache. */
  data: z.array(z.string()).default([]),
  /** Trainer preset (tiny | small | full) or a JSON config file. */
  config: z.string().min(1).default('full'),
  /** Gate rules; absent = the runner's defaults. */
  gate: z.array(GateRuleSchema).optional(),
  /**
   * A trainer run folder whose checkpoints start the job (copied in before the trainer's first run, so its finished
   * stages are skipped): stages trained elsewhere — another machine, a GPU — are evaluated, gated and published here.
   */
  fromRun: z.string().min(1).optional(),
  /** Who asked (a Discord user id, "cli" …), for the report. */
  requestedBy: z.string().optional(),
});
export type TrainingSpec = z.infer<typeof TrainingSpecSchema>;
export type TrainingSpecInput = z.input<typeof TrainingSpecSchema>;

export interface TrainingProgress {
  stage: string;
  step?: number;
  total?: number;
  loss?: number;
  etaS?: number;
  /** 0–1 within the stage, when it can be told. */
  fraction?: number;
  at: string;
}

export interface TrainingJob {
  id: number;
  state: TrainingJobState;
  spec: TrainingSpec;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  owner: string | null;
  childPid: number | null;
  heartbeat: number | null;
  attempts: number;
  version: string | null;
  progress: TrainingProgress | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

interface Row {
  id: number;
  state: string;
  spec: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  owner: string | null;
  child_pid: number | null;
  heartbeat: number | null;
  attempts: number;
  version: string | null;
  progress: string | null;
  result: string | null;
  error: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS training_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  state TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  owner TEXT,
  child_pid INTEGER,
  heartbeat INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  version TEXT,
  progress TEXT,
  result TEXT,
  error TEXT
);
CREATE INDEX IF NOT EXISTS training_jobs_state ON training_jobs (state, id);
`;

function fromRow(r: Row): TrainingJob {
  return {
    id: r.id,
    state: r.state as TrainingJobState,
    spec: TrainingSpecSchema.parse(JSON.parse(r.spec)),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    owner: r.owner,
    childPid: r.child_pid,
    heartbeat: r.heartbeat,
    attempts: r.attempts,
    version: r.version,
    progress: r.progress ? (JSON.parse(r.progress) as TrainingProgress) : null,
    result: r.result ? (JSON.parse(r.result) as Record<string, unknown>) : null,
    error: r.error,
  };
}

/** `host pid`: enough to tell whether the owner still lives when it ran on this machine. */
export function ownerId(pid = process.pid): string {
  return `${hostname()} ${pid}`;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerDead(owner: string | null): boolean {
  if (!owner) return true;
  const [host, pid] = owner.split(' ');
  return host === hostname() && !processAlive(Number(pid));
}

/** Kills what an abandoned job left running (its trainer's process group), so a resumed run is the only writer. */
function killOrphanedTrainer(job: TrainingJob): void {
  if (!job.childPid || !job.owner || job.owner.split(' ')[0] !== hostname()) return;
  try {
    process.kill(-job.childPid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export interface ClaimOptions {
  /** A running job whose heartbeat is older than this is taken over (its worker is presumed dead). */
  staleMs: number;
}

export class TrainingJobStore {
  readonly db: Db;

  constructor(readonly file: string) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.db = new Database(file);
    } catch (err) {
      throw new Error(`cannot open the training job database ${file}: ${(err as Error).message}`, { cause: err });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  enqueue(spec: TrainingSpecInput): TrainingJob {
    const parsed = TrainingSpecSchema.parse(spec);
    const info = this.db
      .prepare('INSERT INTO training_jobs (state, spec, created_at) VALUES (?, ?, ?)')
      .run('queued', JSON.stringify(parsed), new Date().toISOString());
    return this.get(Number(info.lastInsertRowid))!;
  }

  get(id: number): TrainingJob | null {
    const row = this.db.prepare('SELECT * FROM training_jobs WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  require(id: number): TrainingJob {
    const job = this.get(id);
    if (!job) throw new Error(`no training job ${id}`);
    return job;
  }

  list(limit = 20): TrainingJob[] {
    return (this.db.prepare('SELECT * FROM training_jobs ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map(fromRow);
  }

  /**
   * Takes the oldest queued job for `owner`, after returning abandoned running jobs to the queue (they resume
   * from their checkpoints). Returns null while another live worker runs a job: one job at a time.
   */
  claim(owner: string, opts: ClaimOptions): TrainingJob | null {
    const tx = this.db.transaction((): TrainingJob | null => {
      const now = Date.now();
      const active = (
        this.db
          .prepare("SELECT * FROM training_jobs WHERE state IN ('running', 'cancelling') ORDER BY id")
          .all() as Row[]
      ).map(fromRow);
      for (const job of active) {
        const abandoned = job.owner !== owner && ((job.heartbeat ?? 0) < now - opts.staleMs || ownerDead(job.owner));
        if (job.owner === owner || abandoned) {
          killOrphanedTrainer(job);
          const next = job.state === 'cancelling' ? 'cancelled' : 'queued';
          this.db
            .prepare('UPDATE training_jobs SET state = ?, owner = NULL, child_pid = NULL, finished_at = ? WHERE id = ?')
            .run(next, next === 'cancelled' ? new Date().toISOString() : null, job.id);
        } else {
          return null;
        }
      }
      const row = this.db.prepare("SELECT * FROM training_jobs WHERE state = 'queued' ORDER BY id LIMIT 1").get() as
        Row | undefined;
      if (!row) return null;
      this.db
        .prepare(
          "UPDATE training_jobs SET state = 'running', owner = ?, heartbeat = ?, attempts = attempts + 1, started_at = COALESCE(started_at, ?), error = NULL WHERE id = ?",
        )
        .run(owner, now, new Date().toISOString(), row.id);
      return this.get(row.id);
    });
    return tx.immediate();
  }

  /** Marks the job alive; returns its state so the runner notices a cancel request. */
  heartbeat(id: number, owner: string): TrainingJobState | null {
    this.db.prepare('UPDATE training_jobs SET heartbeat = ? WHERE id = ? AND owner = ?').run(Date.now(), id, owner);
    return this.get(id)?.state ?? null;
  }

  setChild(id: number, pid: number | null): void {
    this.db.prepare('UPDATE training_jobs SET child_pid = ? WHERE id = ?').run(pid, id);
  }

  setVersion(id: number, version: string): void {
    this.db.prepare('UPDATE training_jobs SET version = ? WHERE id = ?').run(version, id);
  }

  setProgress(id: number, progress: TrainingProgress): void {
    this.db.prepare('UPDATE training_jobs SET progress = ? WHERE id = ?').run(JSON.stringify(progress), id);
  }

  finish(
    id: number,
    state: Exclude<TrainingJobState, 'queued' | 'running' | 'cancelling'>,
    detail: { result?: Record<string, unknown>; error?: string } = {},
  ): TrainingJob {
    this.db
      .prepare(
        'UPDATE training_jobs SET state = ?, finished_at = ?, owner = NULL, child_pid = NULL, result = ?, error = ? WHERE id = ?',
      )
      .run(
        state,
        new Date().toISOString(),
        detail.result ? JSON.stringify(detail.result) : null,
        detail.error ?? null,
        id,
      );
    return this.require(id);
  }

  /**
   * Asks for a job to stop: a queued job is cancelled at once, a running one is marked `cancelling` and its
   * worker kills the trainer at its next heartbeat. Finished jobs are left as they are.
   */
  requestCancel(id: number): TrainingJob {
    const job = this.require(id);
    if (job.state === 'queued') return this.finish(id, 'cancelled', { error: 'cancelled before it started' });
    if (job.state === 'running')
      this.db.prepare("UPDATE training_jobs SET state = 'cancelling' WHERE id = ? AND state = 'running'").run(id);
    return this.require(id);
  }
}
