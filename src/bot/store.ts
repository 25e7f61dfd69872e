/**
 * The conversation store (SQLite through better-sqlite3): conversations, turns, requests, motion files,
 * ratings, deliveries and per-guild settings. Schema changes are numbered migrations applied in order and
 * recorded in PRAGMA user_version, so an old data directory upgrades itself on open.
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE conversations (
     id TEXT PRIMARY KEY,
     platform TEXT NOT NULL,
     key TEXT NOT NULL,
     owner TEXT NOT NULL,
     state_json TEXT,
     last_request_id TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     UNIQUE (platform, key)
   );
   CREATE TABLE turns (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     conversation_id TEXT NOT NULL REFERENCES conversations(id),
     user_id TEXT NOT NULL,
     text TEXT NOT NULL,
     action TEXT NOT NULL,
     reply TEXT,
     notes_json TEXT,
     planner TEXT,
     created_at TEXT NOT NULL
   );
   CREATE TABLE requests (
     id TEXT PRIMARY KEY,
     conversation_id TEXT NOT NULL REFERENCES conversations(id),
     turn_id INTEGER REFERENCES turns(id),
     user_id TEXT NOT NULL,
     status TEXT NOT NULL,
     request_json TEXT,
     video_path TEXT,
     seconds REAL,
     error TEXT,
     created_at TEXT NOT NULL,
     finished_at TEXT
   );
   CREATE INDEX requests_by_user ON requests(user_id, status);
   CREATE TABLE motions (
     id TEXT PRIMARY KEY,
     request_id TEXT NOT NULL REFERENCES requests(id),
     sample INTEGER NOT NULL,
     path TEXT NOT NULL,
     num_frames INTEGER NOT NULL,
     fps REAL NOT NULL,
     source TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE ratings (
     request_id TEXT NOT NULL REFERENCES requests(id),
     user_id TEXT NOT NULL,
     value INTEGER NOT NULL CHECK (value IN (-1, 1)),
     created_at TEXT NOT NULL,
     PRIMARY KEY (request_id, user_id)
   );
   CREATE TABLE deliveries (
     job_id TEXT PRIMARY KEY,
     target TEXT,
     delivered_at TEXT NOT NULL
   );
   CREATE TABLE guild_settings (
     guild_id TEXT PRIMARY KEY,
     settings_json TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );`,
  // Where a request's reply goes (a platform surface, as JSON), so a bot that restarts can still deliver it.
  `ALTER TABLE requests ADD COLUMN reply_json TEXT;`,
];

export type RequestStatus = 'queued' | 'running' | 'done' | 'failed' | 'replied';

export interface ConversationRow {
  id: string;
  platform: string;
  key: string;
  owner: string;
  state: unknown;
  lastRequestId: string | null;
}

export interface RequestRow {
  id: string;
  conversationId: string;
  userId: string;
  status: RequestStatus;
  request: unknown;
  videoPath: string | null;
  seconds: number | null;
  error: string | null;
  turnId: number | null;
  /** Where the reply goes (platform-specific JSON); absent for surfaces that cannot be reached again (CLI). */
  replyTo: unknown;
}

export interface MotionRow {
  id: string;
  requestId: string;
  sample: number;
  path: string;
  numFrames: number;
  fps: number;
  source: string;
}

export interface GuildSettings {
  allowedChannels?: string[];
  userQueue?: number;
  userPerMinute?: number;
}

const now = (): string => new Date().toISOString();

const PENDING_SUFFIX = ':pending';

/** The delivery target of a reply being posted on `platform` (replaced by the message's id once posted). */
export function pendingDelivery(platform: string): string {
  return `${platform}${PENDING_SUFFIX}`;
}

function parseJson(text: string | null, what: string): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`store: ${what} holds invalid JSON`);
  }
}

export class Store {
  readonly db: Database.Database;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
    } catch (err) {
      throw new Error(`cannot open the store at ${path}: ${(err as Error).message}`, { cause: err });
    }
    this.migrate();
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(): void {
    const current = this.schemaVersion;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `the store at ${this.path} has schema version ${current}, newer than this Charades (${MIGRATIONS.length}); upgrade Charades`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** The conversation for (platform, key) — a Discord thread, a channel reply chain, a CLI session — created on first use. */
  conversation(platform: string, key: string, owner: string): ConversationRow {
    const found = this.db.prepare('SELECT * FROM conversations WHERE platform = ? AND key = ?').get(platform, key) as
      Record<string, unknown> | undefined;
    if (found) return toConversation(found);
    // Ids are not derived from keys: a key moves (a reply chain becomes a thread) and may be reused later.
    const id = randomUUID();
    const t = now();
    this.db
      .prepare('INSERT INTO conversations (id, platform, key, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, platform, key, owner, t, t);
    return { id, platform, key, owner, state: undefined, lastRequestId: null };
  }

  conversationByKey(platform: string, key: string): ConversationRow | undefined {
    const row = this.db.prepare('SELECT * FROM conversations WHERE platform = ? AND key = ?').get(platform, key) as
      Record<string, unknown> | undefined;
    return row ? toConversation(row) : undefined;
  }

  conversationKeyExists(platform: string, key: string): boolean {
    return (
      this.db.prepare('SELECT 1 FROM conversations WHERE platform = ? AND key = ?').get(platform, key) !== undefined
    );
  }

  conversationById(id: string): ConversationRow | undefined {
    const row = this.db.prepare('SELECT * FROM conversations WHERE id = ?').get(id) as
      Record<string, unknown> | undefined;
    return row ? toConversation(row) : undefined;
  }

  /** The conversation a user touched most recently on a platform. */
  latestConversation(platform: string, owner: string): ConversationRow | undefined {
    const row = this.db
      .prepare(
        'SELECT * FROM conversations WHERE platform = ? AND owner = ? AND last_request_id IS NOT NULL ORDER BY updated_at DESC LIMIT 1',
      )
      .get(platform, owner) as Record<string, unknown> | undefined;
    return row ? toConversation(row) : undefined;
  }

  /** The job whose reply was delivered as `target` (a reply to a bot message continues that job's conversation). */
  jobDeliveredAs(target: string): string | undefined {
    return (
      this.db.prepare('SELECT job_id FROM deliveries WHERE target = ?').get(target) as { job_id: string } | undefined
    )?.job_id;
  }

  /** Re-keys a conversation (a channel reply that became a thread keeps its history). */
  moveConversation(id: string, key: string): void {
    this.db.prepare('UPDATE conversations SET key = ?, updated_at = ? WHERE id = ?').run(key, now(), id);
  }

  saveConversationState(id: string, state: unknown, lastRequestId: string | null): void {
    this.db
      .prepare(
        'UPDATE conversations SET state_json = ?, last_request_id = COALESCE(?, last_request_id), updated_at = ? WHERE id = ?',
      )
      .run(state === undefined ? null : JSON.stringify(state), lastRequestId, now(), id);
  }

  addTurn(turn: { conversationId: string; userId: string; text: string; action: string }): number {
    const r = this.db
      .prepare('INSERT INTO turns (conversation_id, user_id, text, action, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(turn.conversationId, turn.userId, turn.text, turn.action, now());
    return Number(r.lastInsertRowid);
  }

  finishTurn(turnId: number, reply: string, notes: readonly string[], planner: string): void {
    this.db
      .prepare('UPDATE turns SET reply = ?, notes_json = ?, planner = ? WHERE id = ?')
      .run(reply, JSON.stringify(notes), planner, turnId);
  }

  turns(
    conversationId: string,
  ): { id: number; userId: string; text: string; action: string; reply: string | null; planner: string | null }[] {
    return this.db
      .prepare(
        'SELECT id, user_id AS userId, text, action, reply, planner FROM turns WHERE conversation_id = ? ORDER BY id',
      )
      .all(conversationId) as {
      id: number;
      userId: string;
      text: string;
      action: string;
      reply: string | null;
      planner: string | null;
    }[];
  }

  addRequest(r: { id: string; conversationId: string; turnId: number; userId: string; replyTo?: unknown }): void {
    this.db
      .prepare(
        "INSERT INTO requests (id, conversation_id, turn_id, user_id, status, created_at, reply_json) VALUES (?, ?, ?, ?, 'queued', ?, ?)",
      )
      .run(
        r.id,
        r.conversationId,
        r.turnId,
        r.userId,
        now(),
        r.replyTo === undefined ? null : JSON.stringify(r.replyTo),
      );
  }

  setRequestStatus(id: string, status: RequestStatus, error?: string): void {
    const finished = status === 'done' || status === 'failed' || status === 'replied' ? now() : null;
    this.db
      .prepare('UPDATE requests SET status = ?, error = ?, finished_at = COALESCE(?, finished_at) WHERE id = ?')
      .run(status, error ?? null, finished, id);
  }

  completeRequest(id: string, done: { request: unknown; videoPath: string; seconds: number }): void {
    this.db
      .prepare(
        "UPDATE requests SET status = 'done', request_json = ?, video_path = ?, seconds = ?, finished_at = ? WHERE id = ?",
      )
      .run(JSON.stringify(done.request), done.videoPath, done.seconds, now(), id);
  }

  request(id: string): RequestRow | undefined {
    const row = this.db.prepare('SELECT * FROM requests WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    return {
      id: row.id as string,
      conversationId: row.conversation_id as string,
      userId: row.user_id as string,
      status: row.status as RequestStatus,
      request: parseJson(row.request_json as string | null, `request ${id}`),
      videoPath: row.video_path as string | null,
      seconds: row.seconds as number | null,
      error: row.error as string | null,
      turnId: row.turn_id as number | null,
      replyTo: parseJson(row.reply_json as string | null, `request ${id} reply target`),
    };
  }

  /** Requests of a user that are queued or running (the per-user queue limit counts these). */
  activeRequests(userId: string): number {
    return (
      this.db
        .prepare("SELECT COUNT(*) AS n FROM requests WHERE user_id = ? AND status IN ('queued', 'running')")
        .get(userId) as { n: number }
    ).n;
  }

  /** Requests a user started since `sinceIso` (the per-minute rate limit counts these). */
  requestsSince(userId: string, sinceIso: string): number {
    return (
      this.db
        .prepare('SELECT COUNT(*) AS n FROM requests WHERE user_id = ? AND created_at >= ?')
        .get(userId, sinceIso) as { n: number }
    ).n;
  }

  /** Requests left queued or running by a process that stopped (re-queued or failed at startup). */
  unfinishedRequests(): RequestRow[] {
    const ids = this.db
      .prepare("SELECT id FROM requests WHERE status IN ('queued', 'running') ORDER BY created_at")
      .all() as { id: string }[];
    return ids.map((r) => this.request(r.id) as RequestRow);
  }

  /**
   * Requests of a platform whose reply still has to go out: they have a reply target and no delivery, or only
   * the pending claim of a run that died while posting, whatever their status (queued, running, done by a
   * worker while no bot ran, or failed). Call at start-up only: in a running bot a pending claim is live.
   */
  undeliveredRequests(platform: string): RequestRow[] {
    const ids = this.db
      .prepare(
        `SELECT r.id FROM requests r JOIN conversations c ON c.id = r.conversation_id
         WHERE c.platform = ? AND r.reply_json IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.job_id = r.id AND d.target <> ?)
         ORDER BY r.created_at`,
      )
      .all(platform, pendingDelivery(platform)) as { id: string }[];
    return ids.map((r) => this.request(r.id) as RequestRow);
  }

  /** Gives up the pending claim a dead run left on a request, so its delivery can be claimed again. */
  releasePendingDelivery(jobId: string, platform: string): void {
    this.db.prepare('DELETE FROM deliveries WHERE job_id = ? AND target = ?').run(jobId, pendingDelivery(platform));
  }

  turn(
    id: number,
  ): { id: number; conversationId: string; reply: string | null; notes: string[]; planner: string | null } | undefined {
    const row = this.db
      .prepare('SELECT id, conversation_id, reply, notes_json, planner FROM turns WHERE id = ?')
      .get(id) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    const notes = parseJson(row.notes_json as string | null, `turn ${id} notes`);
    return {
      id,
      conversationId: row.conversation_id as string,
      reply: row.reply as string | null,
      notes: Array.isArray(notes) ? notes.map(String) : [],
      planner: row.planner as string | null,
    };
  }

  addMotion(m: MotionRow): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO motions (id, request_id, sample, path, num_frames, fps, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(m.id, m.requestId, m.sample, m.path, m.numFrames, m.fps, m.source, now());
  }

  motion(id: string): MotionRow | undefined {
    return this.db
      .prepare(
        'SELECT id, request_id AS requestId, sample, path, num_frames AS numFrames, fps, source FROM motions WHERE id = ?',
      )
      .get(id) as MotionRow | undefined;
  }

  motionsOf(requestId: string): MotionRow[] {
    return this.db
      .prepare(
        'SELECT id, request_id AS requestId, sample, path, num_frames AS numFrames, fps, source FROM motions WHERE request_id = ? ORDER BY sample',
      )
      .all(requestId) as MotionRow[];
  }

  /** Records a 👍 (+1) or 👎 (-1); a second vote by the same user replaces the first. */
  rate(requestId: string, userId: string, value: 1 | -1): void {
    this.db
      .prepare(
        'INSERT INTO ratings (request_id, user_id, value, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (request_id, user_id) DO UPDATE SET value = excluded.value, created_at = excluded.created_at',
      )
      .run(requestId, userId, value, now());
  }

  /** Withdraws a user's vote — only if it is still `value`: removing 👍 after switching to 👎 keeps the 👎. */
  unrate(requestId: string, userId: string, value: 1 | -1): boolean {
    return (
      this.db
        .prepare('DELETE FROM ratings WHERE request_id = ? AND user_id = ? AND value = ?')
        .run(requestId, userId, value).changes === 1
    );
  }

  ratings(requestId: string): { up: number; down: number } {
    const row = this.db
      .prepare(
        'SELECT COALESCE(SUM(value = 1), 0) AS up, COALESCE(SUM(value = -1), 0) AS down FROM ratings WHERE request_id = ?',
      )
      .get(requestId) as { up: number; down: number };
    return row;
  }

  /**
   * Claims the right to deliver a job's reply. Only the first caller for a job id gets true: a job that
   * completes twice (at-least-once queues) is still answered once. Claim with `pendingDelivery(platform)`
   * while posting and `setDeliveryTarget` once posted; any other target is final at once.
   */
  claimDelivery(jobId: string, target: string): boolean {
    const claimed =
      this.db
        .prepare('INSERT OR IGNORE INTO deliveries (job_id, target, delivered_at) VALUES (?, ?, ?)')
        .run(jobId, target, now()).changes === 1;
    if (claimed && !target.endsWith(PENDING_SUFFIX)) this.forgetReplyTarget(jobId);
    return claimed;
  }

  setDeliveryTarget(jobId: string, target: string): void {
    this.db.prepare('UPDATE deliveries SET target = ? WHERE job_id = ?').run(target, jobId);
    this.forgetReplyTarget(jobId);
  }

  /**
   * Ends a delivery for good with `target` (a posted message, or why none could be: "discord:unreachable"),
   * whether or not a claim exists: a pending claim a dead run left must not keep the request listed forever.
   */
  settleDelivery(jobId: string, target: string): void {
    this.db
      .prepare(
        'INSERT INTO deliveries (job_id, target, delivered_at) VALUES (?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET target = excluded.target, delivered_at = excluded.delivered_at',
      )
      .run(jobId, target, now());
    this.forgetReplyTarget(jobId);
  }

  /** Where a job's reply went (a message, a pending claim or a final failure), if anywhere yet. */
  deliveryTarget(jobId: string): string | undefined {
    return (
      this.db.prepare('SELECT target FROM deliveries WHERE job_id = ?').get(jobId) as { target: string } | undefined
    )?.target;
  }

  /** The reply target holds an interaction token, a credential: once the reply is out it is not kept at rest. */
  private forgetReplyTarget(jobId: string): void {
    this.db.prepare('UPDATE requests SET reply_json = NULL WHERE id = ?').run(jobId);
  }

  guildSettings(guildId: string): GuildSettings {
    const row = this.db.prepare('SELECT settings_json FROM guild_settings WHERE guild_id = ?').get(guildId) as
      { settings_json: string } | undefined;
    return row ? (parseJson(row.settings_json, `guild_settings ${guildId}`) as GuildSettings) : {};
  }

  setGuildSettings(guildId: string, settings: GuildSettings): void {
    this.db
      .prepare(
        'INSERT INTO guild_settings (guild_id, settings_json, updated_at) VALUES (?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET settings_json = excluded.settings_json, updated_at = excluded.updated_at',
      )
      .run(guildId, JSON.stringify(settings), now());
  }

  close(): void {
    this.db.close();
  }
}

function toConversation(row: Record<string, unknown>): ConversationRow {
  return {
    id: row.id as string,
    platform: row.platform as string,
    key: row.key as string,
    owner: row.owner as string,
    state: parseJson(row.state_json as string | null, `conversation ${row.id as string}`),
    lastRequestId: row.last_request_id as string | null,
  };
}
