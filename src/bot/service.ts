/**
 * The adapter-independent core of a chat turn: find the conversation, enforce per-user limits, record
 * the turn, enqueue the job with the previous request and agent state, and persist what comes back.
 * Discord and the CLI both go through here, so follow-ups behave the same on every surface.
 * A request recorded by an earlier process is picked up again with `resume`, from its job's completion
 * record (or from the store when it already finished), so its reply is not lost to a restart.
 */
import { randomUUID } from 'node:crypto';
import { JobDetachedError, MAX_JOB_TEXT } from '../jobs/index.js';
import type { JobAction, JobInput, JobQueue, JobResult, Progress } from '../jobs/index.js';
import { parseMotionRequest } from '../motion/index.js';
import type { RequestRow, Store } from './store.js';

export interface TurnRequest {
  platform: string;
  /** What identifies the conversation on that platform (thread id, CLI session name). */
  conversationKey: string;
  /** A known conversation (a button's or a reply's), which wins over the key: keys can move. */
  conversationId?: string;
  userId: string;
  text: string;
  action?: JobAction;
  options?: JobInput['options'];
  title?: string;
  /** The request a button edits (an older clip of the conversation); default: the conversation's last one. */
  baseRequestId?: string;
  /** Limits in force for this user here (guild settings may tighten the defaults). */
  limits: { userQueue: number; userPerMinute: number };
  /** Where the reply goes, stored with the request so a restarted bot can still deliver it (JSON). */
  replyTo?: unknown;
}

export interface TurnOutcome {
  jobId: string;
  conversationId: string;
  result: JobResult;
}

export interface StartedTurn {
  jobId: string;
  conversationId: string;
  done: Promise<TurnOutcome>;
}

/** A request that ended without a result (its job failed, was dropped, or is gone); the message is for the user. */
export class TurnFailedError extends Error {
  override readonly name = 'TurnFailedError';
}

/** A request refused by a per-user limit or a size limit; its message is meant for the user as is. */
export class LimitError extends Error {
  override readonly name = 'LimitError';
}

export class ChatService {
  constructor(
    readonly store: Store,
    readonly queue: JobQueue,
  ) {}

  /** Refuses early (before anything is recorded) when the user is over a limit. */
  checkLimits(userId: string, limits: TurnRequest['limits']): void {
    const active = this.store.activeRequests(userId);
    if (active >= limits.userQueue) {
      throw new LimitError(
        `You already have ${active} request${active === 1 ? '' : 's'} in the queue (limit ${limits.userQueue}). Wait for ${active === 1 ? 'it' : 'them'} to finish, then ask again.`,
      );
    }
    const since = new Date(Date.now() - 60_000).toISOString();
    const recent = this.store.requestsSince(userId, since);
    if (recent >= limits.userPerMinute) {
      throw new LimitError(
        `You have made ${recent} requests in the last minute (limit ${limits.userPerMinute}). Please wait a little.`,
      );
    }
  }

  /** Everything up to the enqueue; returns the job id at once and the outcome when the job finishes. */
  start(turn: TurnRequest, onProgress: (p: Progress) => void): StartedTurn {
    if (turn.text.length > MAX_JOB_TEXT)
      throw new LimitError(
        `Your message is ${turn.text.length} characters long; I read at most ${MAX_JOB_TEXT}. Please say it shorter.`,
      );
    this.checkLimits(turn.userId, turn.limits);
    const known = turn.conversationId ? this.store.conversationById(turn.conversationId) : undefined;
    const conversation = known ?? this.store.conversation(turn.platform, turn.conversationKey, turn.userId);
    const action = turn.action ?? 'prompt';
    const turnId = this.store.addTurn({
      conversationId: conversation.id,
      userId: turn.userId,
      text: turn.text,
      action,
    });
    const baseId = turn.baseRequestId ?? conversation.lastRequestId;
    const last = baseId ? this.store.request(baseId) : undefined;
    const jobId = randomUUID();
    this.store.addRequest({
      id: jobId,
      conversationId: conversation.id,
      turnId,
      userId: turn.userId,
      replyTo: turn.replyTo,
    });
    const input: JobInput = {
      id: jobId,
      conversationId: conversation.id,
      userId: turn.userId,
      text: turn.text,
      action,
      state: conversation.state,
      lastRequest: last?.request,
      lastMotionIds: last ? this.store.motionsOf(last.id).map((m) => m.id) : [],
      options: turn.options ?? {},
      title: turn.title,
    };
    const done = this.settle(
      conversation.id,
      turnId,
      jobId,
      this.queue.submit(input, this.tracking(jobId, onProgress)),
    );
    return { jobId, conversationId: conversation.id, done };
  }

  /**
   * Picks up a request an earlier process recorded: a finished one is answered from the store, an
   * unfinished one is followed through its job (re-attached by id) and persisted when it completes.
   */
  resume(requestId: string, onProgress: (p: Progress) => void): StartedTurn {
    const row = this.store.request(requestId);
    if (!row) throw new Error(`request ${requestId} is not in the store`);
    const base = { jobId: row.id, conversationId: row.conversationId };
    if (row.status === 'failed')
      return { ...base, done: Promise.reject(new TurnFailedError(row.error ?? 'the request failed')) };
    if (row.status === 'done' || row.status === 'replied')
      return { ...base, done: Promise.resolve({ ...base, result: this.storedResult(row) }) };
    if (row.turnId === null) throw new Error(`request ${requestId} has no turn to answer`);
    return {
      ...base,
      done: this.settle(
        row.conversationId,
        row.turnId,
        row.id,
        this.queue.attach(row.id, this.tracking(row.id, onProgress)),
      ),
    };
  }

  private tracking(jobId: string, onProgress: (p: Progress) => void): (p: Progress) => void {
    return (p) => {
      if (p.stage === 'planning') this.store.setRequestStatus(jobId, 'running');
      onProgress(p);
    };
  }

  /**
   * Persists a job's outcome. A job this process merely stopped following is not a failure: it lives on
   * and the next process to resume it records (and delivers) its result.
   */
  private settle(conversationId: string, turnId: number, jobId: string, job: Promise<JobResult>): Promise<TurnOutcome> {
    return job.then(
      (result) => {
        this.persist(conversationId, turnId, result);
        return { jobId, conversationId, result };
      },
      (err: Error) => {
        if (err instanceof JobDetachedError) throw err;
        this.store.setRequestStatus(jobId, 'failed', err.message);
        this.store.finishTurn(turnId, `failed: ${err.message}`, [], 'none');
        throw err;
      },
    );
  }

  /** A finished request's result as the job reported it, rebuilt from the store (turn, request, motions). */
  private storedResult(row: RequestRow): JobResult {
    const turn = row.turnId === null ? undefined : this.store.turn(row.turnId);
    const motions = this.store.motionsOf(row.id);
    const result: JobResult = {
      jobId: row.id,
      reply: turn?.reply ?? '',
      notes: turn?.notes ?? [],
      planner: turn?.planner ?? 'unknown',
      state: undefined,
      motionIds: motions.map((m) => m.id),
      timingsMs: {},
    };
    if (row.status !== 'done' || row.request === undefined || !row.videoPath) return result;
    return {
      ...result,
      request: parseMotionRequest(row.request),
      videoPath: row.videoPath,
      seconds: row.seconds ?? undefined,
      numFrames: motions[0]?.numFrames,
      generator: motions[0]?.source,
    };
  }

  private persist(conversationId: string, turnId: number, result: JobResult): void {
    const tx = this.store.db.transaction(() => {
      this.store.finishTurn(turnId, result.reply, result.notes, result.planner);
      if (result.request && result.videoPath) {
        this.store.completeRequest(result.jobId, {
          request: result.request,
          videoPath: result.videoPath,
          seconds: result.seconds ?? 0,
        });
        result.motionIds.forEach((id, sample) =>
          this.store.addMotion({
            id,
            requestId: result.jobId,
            sample,
            path: `motions/${id}.json`,
            numFrames: result.numFrames ?? 0,
            fps: result.seconds ? (result.numFrames ?? 0) / result.seconds : 0,
            source: result.generator ?? 'unknown',
          }),
        );
        this.store.saveConversationState(conversationId, result.state, result.jobId);
      } else {
        this.store.setRequestStatus(result.jobId, 'replied');
        this.store.saveConversationState(conversationId, result.state, null);
      }
    });
    tx();
  }

  /** True exactly once per job: the adapter delivers only when it wins the claim. */
  claimDelivery(jobId: string, target: string): boolean {
    return this.store.claimDelivery(jobId, target);
  }
}
