/**
 * The adapter-independent core of a chat turn: find the conversation, enforce per-user limits, record
 * the turn, enqueue the job with the previous request and agent state, and persist what comes back.
 * Discord and the CLI both go through here, so follow-ups behave the same on every surface.
 */
import { randomUUID } from 'node:crypto';
import { MAX_JOB_TEXT } from '../jobs/index.js';
import type { JobAction, JobInput, JobQueue, JobResult, Progress } from '../jobs/index.js';
import type { Store } from './store.js';

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
}

export interface TurnOutcome {
  jobId: string;
  conversationId: string;
  result: JobResult;
}

/** A request refused by a per-user limit or a size limit; its message is meant for the user as is. */
export class LimitError extends Error {
  override readonly name = 'LimitError';
}

export class ChatService {
  constructor(readonly store: Store, readonly queue: JobQueue) {}

  /** Refuses early (before anything is recorded) when the user is over a limit. */
  checkLimits(userId: string, limits: TurnRequest['limits']): void {
    const active = this.store.activeRequests(userId);
    if (active >= limits.userQueue) {
      throw new LimitError(`You already have ${active} request${active === 1 ? '' : 's'} in the queue (limit ${limits.userQueue}). Wait for ${active === 1 ? 'it' : 'them'} to finish, then ask again.`);
    }
    const since = new Date(Date.now() - 60_000).toISOString();
    const recent = this.store.requestsSince(userId, since);
    if (recent >= limits.userPerMinute) {
      throw new LimitError(`You have made ${recent} requests in the last minute (limit ${limits.userPerMinute}). Please wait a little.`);
    }
  }

  /** Everything up to the enqueue; returns the job id at once and the outcome when the job finishes. */
  start(turn: TurnRequest, onProgress: (p: Progress) => void): { jobId: string; conversationId: string; done: Promise<TurnOutcome> } {
    if (turn.text.length > MAX_JOB_TEXT) throw new LimitError(`Your message is ${turn.text.length} characters long; I read at most ${MAX_JOB_TEXT}. Please say it shorter.`);
    this.checkLimits(turn.userId, turn.limits);
    const known = turn.conversationId ? this.store.conversationById(turn.conversationId) : undefined;
    const conversation = known ?? this.store.conversation(turn.platform, turn.conversationKey, turn.userId);
    const action = turn.action ?? 'prompt';
    const turnId = this.store.addTurn({ conversationId: conversation.id, userId: turn.userId, text: turn.text, action });
    const baseId = turn.baseRequestId ?? conversation.lastRequestId;
    const last = baseId ? this.store.request(baseId) : undefined;
    const jobId = randomUUID();
    this.store.addRequest({ id: jobId, conversationId: conversation.id, turnId, userId: turn.userId });
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
    const done = this.queue
      .submit(input, (p) => {
        if (p.stage === 'planning') this.store.setRequestStatus(jobId, 'running');
        onProgress(p);
      })
      .then(
        (result) => {
          this.persist(conversation.id, turnId, result);
          return { jobId, conversationId: conversation.id, result };
        },
        (err: Error) => {
          this.store.setRequestStatus(jobId, 'failed', err.message);
          this.store.finishTurn(turnId, `failed: ${err.message}`, [], 'none');
          throw err;
        },
      );
    return { jobId, conversationId: conversation.id, done };
  }

  private persist(conversationId: string, turnId: number, result: JobResult): void {
    const tx = this.store.db.transaction(() => {
      this.store.finishTurn(turnId, result.reply, result.notes, result.planner);
      if (result.request && result.videoPath) {
        this.store.completeRequest(result.jobId, { request: result.request, videoPath: result.videoPath, seconds: result.seconds ?? 0 });
        result.motionIds.forEach((id, sample) =>
          this.store.addMotion({ id, requestId: result.jobId, sample, path: `motions/${id}.json`, numFrames: result.numFrames ?? 0, fps: result.seconds ? (result.numFrames ?? 0) / result.seconds : 0, source: result.generator ?? 'unknown' }),
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
