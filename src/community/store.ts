/**
 * The community tables (phrase pool, duels and their votes, charades rounds and guesses, generated-motion
 * metrics, rate-limit events) in the bot's SQLite file. They have their own schema bookkeeping — one row in
 * `community_schema` — so the conversation store's numbered migrations (PRAGMA user_version) stay its own.
 * Ratings stay in the conversation store's `ratings` table; this file only reads them, so it opens on the
 * conversation store's connection (`new CommunityStore(store.db)`), after that store has migrated.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { normalisePhrase } from './text.js';

const COMMUNITY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE community_phrases (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     text TEXT NOT NULL,
     norm TEXT NOT NULL UNIQUE,
     user_id TEXT NOT NULL,
     guild_id TEXT,
     created_at TEXT NOT NULL,
     removed_at TEXT,
     removed_by TEXT
   );
   CREATE TABLE community_events (
     user_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX community_events_by_user ON community_events(user_id, kind, created_at);
   CREATE TABLE community_duels (
     id TEXT PRIMARY KEY,
     phrase_id INTEGER NOT NULL REFERENCES community_phrases(id),
     guild_id TEXT,
     channel_id TEXT,
     message_id TEXT,
     created_by TEXT NOT NULL,
     variable TEXT NOT NULL,
     variant_a_json TEXT NOT NULL,
     variant_b_json TEXT NOT NULL,
     seed INTEGER NOT NULL,
     model_version TEXT,
     status TEXT NOT NULL,
     error TEXT,
     created_at TEXT NOT NULL,
     closes_at TEXT,
     closed_at TEXT
   );
   CREATE TABLE community_duel_votes (
     duel_id TEXT NOT NULL REFERENCES community_duels(id),
     user_id TEXT NOT NULL,
     choice TEXT NOT NULL CHECK (choice IN ('A', 'B', 'N')),
     created_at TEXT NOT NULL,
     PRIMARY KEY (duel_id, user_id)
   );
   CREATE TABLE community_games (
     id TEXT PRIMARY KEY,
     phrase_id INTEGER NOT NULL REFERENCES community_phrases(id),
     guild_id TEXT NOT NULL,
     channel_id TEXT NOT NULL,
     thread_id TEXT,
     message_id TEXT,
     started_by TEXT NOT NULL,
     status TEXT NOT NULL,
     wrong_guesses INTEGER NOT NULL DEFAULT 0,
     hints INTEGER NOT NULL DEFAULT 0,
     winner_id TEXT,
     seed INTEGER NOT NULL,
     model_version TEXT,
     error TEXT,
     started_at TEXT NOT NULL,
     deadline_at TEXT,
     ended_at TEXT
   );
   CREATE INDEX community_games_by_thread ON community_games(thread_id);
   CREATE TABLE community_guesses (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     game_id TEXT NOT NULL REFERENCES community_games(id),
     user_id TEXT NOT NULL,
     text TEXT NOT NULL,
     similarity REAL,
     correct INTEGER NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE community_generated (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     phrase_id INTEGER NOT NULL REFERENCES community_phrases(id),
     source TEXT NOT NULL,
     ref_id TEXT NOT NULL,
     variant TEXT NOT NULL,
     k INTEGER NOT NULL,
     guidance REAL,
     model_version TEXT,
     seed INTEGER NOT NULL,
     similarity REAL,
     foot_skate REAL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE community_rating_context (
     request_id TEXT PRIMARY KEY,
     model_version TEXT,
     recorded_at TEXT NOT NULL
   );`,
];

export const COMMUNITY_SCHEMA_VERSION = COMMUNITY_MIGRATIONS.length;

export interface Phrase {
  id: number;
  text: string;
  norm: string;
  userId: string;
  guildId: string | null;
  createdAt: string;
  removedAt: string | null;
}

/** One side of a duel: what made it differ from the other side. */
export interface DuelVariant {
  /** Short name shown at the reveal, e.g. "k=4 (Action-GPT)". */
  label: string;
  /** Action-GPT descriptions used (k = their number; 0 = the raw phrase). */
  k: number;
  descriptions?: string[];
  guidance?: number;
  modelVersion?: string;
}

export type DuelStatus = 'rendering' | 'open' | 'closed' | 'failed';
export type DuelChoice = 'A' | 'B' | 'N';

export interface Duel {
  id: string;
  phraseId: number;
  guildId: string | null;
  channelId: string | null;
  messageId: string | null;
  createdBy: string;
  variable: string;
  a: DuelVariant;
  b: DuelVariant;
  seed: number;
  modelVersion: string | null;
  status: DuelStatus;
  createdAt: string;
  closesAt: string | null;
}

export type GameStatus = 'acting' | 'open' | 'solved' | 'timeout' | 'stopped' | 'failed';

export interface Game {
  id: string;
  phraseId: number;
  guildId: string;
  channelId: string;
  threadId: string | null;
  messageId: string | null;
  startedBy: string;
  status: GameStatus;
  wrongGuesses: number;
  hints: number;
  winnerId: string | null;
  seed: number;
  modelVersion: string | null;
  startedAt: string;
  deadlineAt: string | null;
}

export interface GeneratedMetrics {
  phraseId: number;
  source: 'duel' | 'game';
  refId: string;
  variant: string;
  k: number;
  guidance?: number;
  modelVersion?: string;
  seed: number;
  similarity: number | null;
  footSkate: number | null;
}

export type SubmitOutcome = { status: 'added'; phrase: Phrase } | { status: 'duplicate'; phrase: Phrase };

const now = (): string => new Date().toISOString();
type Row = Record<string, unknown>;

function toPhrase(r: Row): Phrase {
  return {
    id: r.id as number,
    text: r.text as string,
    norm: r.norm as string,
    userId: r.user_id as string,
    guildId: r.guild_id as string | null,
    createdAt: r.created_at as string,
    removedAt: r.removed_at as string | null,
  };
}

function parseVariant(text: string, what: string): DuelVariant {
  try {
    return JSON.parse(text) as DuelVariant;
  } catch {
    throw new Error(`community store: ${what} holds invalid JSON`);
  }
}

function toDuel(r: Row): Duel {
  return {
    id: r.id as string,
    phraseId: r.phrase_id as number,
    guildId: r.guild_id as string | null,
    channelId: r.channel_id as string | null,
    messageId: r.message_id as string | null,
    createdBy: r.created_by as string,
    variable: r.variable as string,
    a: parseVariant(r.variant_a_json as string, `duel ${r.id as string} side A`),
    b: parseVariant(r.variant_b_json as string, `duel ${r.id as string} side B`),
    seed: r.seed as number,
    modelVersion: r.model_version as string | null,
    status: r.status as DuelStatus,
    createdAt: r.created_at as string,
    closesAt: r.closes_at as string | null,
  };
}

function toGame(r: Row): Game {
  return {
    id: r.id as string,
    phraseId: r.phrase_id as number,
    guildId: r.guild_id as string,
    channelId: r.channel_id as string,
    threadId: r.thread_id as string | null,
    messageId: r.message_id as string | null,
    startedBy: r.started_by as string,
    status: r.status as GameStatus,
    wrongGuesses: r.wrong_guesses as number,
    hints: r.hints as number,
    winnerId: r.winner_id as string | null,
    seed: r.seed as number,
    modelVersion: r.model_version as string | null,
    startedAt: r.started_at as string,
    deadlineAt: r.deadline_at as string | null,
  };
}

export class CommunityStore {
  constructor(readonly db: Database.Database) {
    this.migrate();
  }

  get schemaVersion(): number {
    const row = this.db.prepare('SELECT version FROM community_schema').get() as { version: number } | undefined;
    return row?.version ?? 0;
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS community_schema (version INTEGER NOT NULL)');
    if (!this.db.prepare('SELECT 1 FROM community_schema').get())
      this.db.prepare('INSERT INTO community_schema (version) VALUES (0)').run();
    const current = this.schemaVersion;
    if (current > COMMUNITY_MIGRATIONS.length) {
      throw new Error(
        `the community tables have schema version ${current}, newer than this Charades (${COMMUNITY_MIGRATIONS.length}); upgrade Charades`,
      );
    }
    for (let v = current; v < COMMUNITY_MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(COMMUNITY_MIGRATIONS[v]);
        this.db.prepare('UPDATE community_schema SET version = ?').run(v + 1);
      })();
    }
  }

  // ---------------------------------------------------------------- rate limits

  /** How often a user did `kind` since `sinceIso` (submissions, duels, game starts, guesses). */
  eventsSince(userId: string, kind: string, sinceIso: string): number {
    return (
      this.db
        .prepare('SELECT COUNT(*) AS n FROM community_events WHERE user_id = ? AND kind = ? AND created_at >= ?')
        .get(userId, kind, sinceIso) as { n: number }
    ).n;
  }

  recordEvent(userId: string, kind: string): void {
    this.db
      .prepare('INSERT INTO community_events (user_id, kind, created_at) VALUES (?, ?, ?)')
      .run(userId, kind, now());
  }

  // ---------------------------------------------------------------- the pool

  /** Adds a checked phrase; one already present (by normalised text) is returned instead, removed or not. */
  submit(p: { text: string; norm: string; userId: string; guildId: string | null }): SubmitOutcome {
    const existing = this.phraseByNorm(p.norm);
    if (existing) return { status: 'duplicate', phrase: existing };
    const r = this.db
      .prepare('INSERT INTO community_phrases (text, norm, user_id, guild_id, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(p.text, p.norm, p.userId, p.guildId, now());
    return { status: 'added', phrase: this.phrase(Number(r.lastInsertRowid))! };
  }

  phrase(id: number): Phrase | undefined {
    const r = this.db.prepare('SELECT * FROM community_phrases WHERE id = ?').get(id) as Row | undefined;
    return r ? toPhrase(r) : undefined;
  }

  phraseByNorm(norm: string): Phrase | undefined {
    const r = this.db.prepare('SELECT * FROM community_phrases WHERE norm = ?').get(norm) as Row | undefined;
    return r ? toPhrase(r) : undefined;
  }

  /** Active phrases, newest first. */
  phrases(limit = 1000, offset = 0): Phrase[] {
    return (
      this.db
        .prepare('SELECT * FROM community_phrases WHERE removed_at IS NULL ORDER BY id DESC LIMIT ? OFFSET ?')
        .all(limit, offset) as Row[]
    ).map(toPhrase);
  }

  /** Every phrase ever submitted, removed ones included (reports keep their history). */
  allPhrases(): Phrase[] {
    return (this.db.prepare('SELECT * FROM community_phrases ORDER BY id').all() as Row[]).map(toPhrase);
  }

  poolSize(): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM community_phrases WHERE removed_at IS NULL').get() as { n: number }
    ).n;
  }

  removePhrase(id: number, by: string): Phrase | undefined {
    this.db
      .prepare('UPDATE community_phrases SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL')
      .run(now(), by, id);
    return this.phrase(id);
  }

  /** The active phrase played least (in `source`), ties broken by `pick` so rounds do not repeat in order. */
  leastPlayedPhrase(source: 'duel' | 'game', pick: (n: number) => number): Phrase | undefined {
    const table = source === 'duel' ? 'community_duels' : 'community_games';
    const rows = this.db
      .prepare(
        `SELECT p.*, (SELECT COUNT(*) FROM ${table} x WHERE x.phrase_id = p.id) AS plays FROM community_phrases p WHERE p.removed_at IS NULL ORDER BY plays`,
      )
      .all() as (Row & { plays: number })[];
    if (!rows.length) return undefined;
    const fewest = rows.filter((r) => r.plays === rows[0].plays);
    return toPhrase(fewest[pick(fewest.length)]);
  }

  // ---------------------------------------------------------------- duels

  createDuel(d: {
    phraseId: number;
    guildId: string | null;
    channelId: string | null;
    createdBy: string;
    variable: string;
    a: DuelVariant;
    b: DuelVariant;
    seed: number;
  }): Duel {
    const id = randomUUID();
    this.db
      .prepare(
        `INSERT INTO community_duels (id, phrase_id, guild_id, channel_id, created_by, variable, variant_a_json, variant_b_json, seed, status, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'rendering', ?)`,
      )
      .run(
        id,
        d.phraseId,
        d.guildId,
        d.channelId,
        d.createdBy,
        d.variable,
        JSON.stringify(d.a),
        JSON.stringify(d.b),
        d.seed,
        now(),
      );
    return this.duel(id)!;
  }

  duel(id: string): Duel | undefined {
    const r = this.db.prepare('SELECT * FROM community_duels WHERE id = ?').get(id) as Row | undefined;
    return r ? toDuel(r) : undefined;
  }

  openDuel(
    id: string,
    o: { messageId: string; channelId: string; closesAt: string; modelVersion: string | null },
  ): void {
    this.db
      .prepare(
        "UPDATE community_duels SET status = 'open', message_id = ?, channel_id = ?, closes_at = ?, model_version = ? WHERE id = ?",
      )
      .run(o.messageId, o.channelId, o.closesAt, o.modelVersion, id);
  }

  failDuel(id: string, error: string): void {
    this.db
      .prepare("UPDATE community_duels SET status = 'failed', error = ?, closed_at = ? WHERE id = ?")
      .run(error, now(), id);
  }

  /** Closes a duel once; true only for the caller that closed it (the sweep and a manual close may race). */
  closeDuel(id: string): boolean {
    return (
      this.db
        .prepare("UPDATE community_duels SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'")
        .run(now(), id).changes === 1
    );
  }

  /** Open duels whose voting time is over. */
  duelsDue(atIso: string): Duel[] {
    return (
      this.db.prepare("SELECT * FROM community_duels WHERE status = 'open' AND closes_at <= ?").all(atIso) as Row[]
    ).map(toDuel);
  }

  /** Records a vote; a second vote by the same user replaces the first. */
  voteDuel(duelId: string, userId: string, choice: DuelChoice): { changed: boolean } {
    const before = this.db
      .prepare('SELECT choice FROM community_duel_votes WHERE duel_id = ? AND user_id = ?')
      .get(duelId, userId) as { choice: string } | undefined;
    this.db
      .prepare(
        'INSERT INTO community_duel_votes (duel_id, user_id, choice, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (duel_id, user_id) DO UPDATE SET choice = excluded.choice, created_at = excluded.created_at',
      )
      .run(duelId, userId, choice, now());
    return { changed: before !== undefined && before.choice !== choice };
  }

  duelTally(duelId: string): Record<DuelChoice, number> {
    const rows = this.db
      .prepare('SELECT choice, COUNT(*) AS n FROM community_duel_votes WHERE duel_id = ? GROUP BY choice')
      .all(duelId) as { choice: DuelChoice; n: number }[];
    const tally: Record<DuelChoice, number> = { A: 0, B: 0, N: 0 };
    for (const r of rows) tally[r.choice] = r.n;
    return tally;
  }

  /** Closed duels with their tallies (what the report counts: only revealed results). */
  closedDuels(): (Duel & { tally: Record<DuelChoice, number> })[] {
    return (this.db.prepare("SELECT * FROM community_duels WHERE status = 'closed' ORDER BY created_at").all() as Row[])
      .map(toDuel)
      .map((d) => ({ ...d, tally: this.duelTally(d.id) }));
  }

  // ---------------------------------------------------------------- games

  createGame(g: { phraseId: number; guildId: string; channelId: string; startedBy: string; seed: number }): Game {
    const id = randomUUID();
    this.db
      .prepare(
        "INSERT INTO community_games (id, phrase_id, guild_id, channel_id, started_by, status, seed, started_at) VALUES (?, ?, ?, ?, ?, 'acting', ?, ?)",
      )
      .run(id, g.phraseId, g.guildId, g.channelId, g.startedBy, g.seed, now());
    return this.game(id)!;
  }

  game(id: string): Game | undefined {
    const r = this.db.prepare('SELECT * FROM community_games WHERE id = ?').get(id) as Row | undefined;
    return r ? toGame(r) : undefined;
  }

  /** The round being acted or played in a channel (its thread counts as the channel). */
  activeGameIn(channelId: string): Game | undefined {
    const r = this.db
      .prepare(
        "SELECT * FROM community_games WHERE status IN ('acting', 'open') AND (channel_id = ? OR thread_id = ?) ORDER BY started_at DESC LIMIT 1",
      )
      .get(channelId, channelId) as Row | undefined;
    return r ? toGame(r) : undefined;
  }

  openGame(
    id: string,
    o: { messageId: string; threadId: string; deadlineAt: string; modelVersion: string | null },
  ): void {
    this.db
      .prepare(
        "UPDATE community_games SET status = 'open', message_id = ?, thread_id = ?, deadline_at = ?, model_version = ? WHERE id = ?",
      )
      .run(o.messageId, o.threadId, o.deadlineAt, o.modelVersion, id);
  }

  /** Ends a round once; true only for the caller that ended it (a correct guess and the timeout may race). */
  endGame(
    id: string,
    status: Exclude<GameStatus, 'acting' | 'open'>,
    o: { winnerId?: string; error?: string } = {},
  ): boolean {
    return (
      this.db
        .prepare(
          "UPDATE community_games SET status = ?, winner_id = ?, error = ?, ended_at = ? WHERE id = ? AND status IN ('acting', 'open')",
        )
        .run(status, o.winnerId ?? null, o.error ?? null, now(), id).changes === 1
    );
  }

  gamesDue(atIso: string): Game[] {
    return (
      this.db.prepare("SELECT * FROM community_games WHERE status = 'open' AND deadline_at <= ?").all(atIso) as Row[]
    ).map(toGame);
  }

  /** Records a guess; wrong ones bump the round's counter, which the hints follow. */
  addGuess(gameId: string, userId: string, text: string, similarity: number | null, correct: boolean): Game {
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO community_guesses (game_id, user_id, text, similarity, correct, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(gameId, userId, text, similarity, correct ? 1 : 0, now());
      if (!correct)
        this.db.prepare('UPDATE community_games SET wrong_guesses = wrong_guesses + 1 WHERE id = ?').run(gameId);
    })();
    return this.game(gameId)!;
  }

  setHints(gameId: string, hints: number): void {
    this.db.prepare('UPDATE community_games SET hints = ? WHERE id = ?').run(hints, gameId);
  }

  guesses(gameId: string): { userId: string; text: string; similarity: number | null; correct: boolean }[] {
    return (
      this.db
        .prepare('SELECT user_id, text, similarity, correct FROM community_guesses WHERE game_id = ? ORDER BY id')
        .all(gameId) as Row[]
    ).map((r) => ({
      userId: r.user_id as string,
      text: r.text as string,
      similarity: r.similarity as number | null,
      correct: r.correct === 1,
    }));
  }

  /** Rounds that ended by a guess or by running out of time (stopped and failed rounds say nothing about recognition). */
  finishedGames(): Game[] {
    return (
      this.db
        .prepare("SELECT * FROM community_games WHERE status IN ('solved', 'timeout') ORDER BY started_at")
        .all() as Row[]
    ).map(toGame);
  }

  /** Wrong guesses per round, for all rounds at once (the report reads every round). */
  wrongGuessCounts(): Map<string, number> {
    const rows = this.db
      .prepare('SELECT game_id, COUNT(*) AS n FROM community_guesses WHERE correct = 0 GROUP BY game_id')
      .all() as { game_id: string; n: number }[];
    return new Map(rows.map((r) => [r.game_id, r.n]));
  }

  /** Solved rounds per player in a guild, best first. */
  leaderboard(guildId: string, limit = 10): { userId: string; wins: number }[] {
    return this.db
      .prepare(
        "SELECT winner_id AS userId, COUNT(*) AS wins FROM community_games WHERE guild_id = ? AND status = 'solved' GROUP BY winner_id ORDER BY wins DESC, MIN(ended_at) LIMIT ?",
      )
      .all(guildId, limit) as { userId: string; wins: number }[];
  }

  // ---------------------------------------------------------------- automatic metrics

  addGenerated(m: GeneratedMetrics): void {
    this.db
      .prepare(
        'INSERT INTO community_generated (phrase_id, source, ref_id, variant, k, guidance, model_version, seed, similarity, foot_skate, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        m.phraseId,
        m.source,
        m.refId,
        m.variant,
        m.k,
        m.guidance ?? null,
        m.modelVersion ?? null,
        m.seed,
        m.similarity,
        m.footSkate,
        now(),
      );
  }

  generated(): GeneratedMetrics[] {
    return (this.db.prepare('SELECT * FROM community_generated ORDER BY id').all() as Row[]).map((r) => ({
      phraseId: r.phrase_id as number,
      source: r.source as 'duel' | 'game',
      refId: r.ref_id as string,
      variant: r.variant as string,
      k: r.k as number,
      guidance: (r.guidance as number | null) ?? undefined,
      modelVersion: (r.model_version as string | null) ?? undefined,
      seed: r.seed as number,
      similarity: r.similarity as number | null,
      footSkate: r.foot_skate as number | null,
    }));
  }

  // ---------------------------------------------------------------- ratings (the conversation store's table)

  /**
   * Remembers the model version that made a rated clip (it lives in the motion file, not in the request row),
   * so reports and exports keep it even after the motion files are cleaned up.
   */
  recordRatingContext(requestId: string, modelVersion: string | null): void {
    this.db
      .prepare(
        'INSERT OR IGNORE INTO community_rating_context (request_id, model_version, recorded_at) VALUES (?, ?, ?)',
      )
      .run(requestId, modelVersion, now());
  }

  /**
   * Every 👍/👎 with what produced the rated clip: the request (text, seed, k, model version), the planner,
   * the generator. Requests are joined, not copied, so a changed vote is always the current one.
   */
  ratedResults(): RatedResult[] {
    const rows = this.db
      .prepare(
        `SELECT r.request_id, r.user_id, r.value, r.created_at, q.request_json, t.planner, c.model_version,
                       (SELECT m.source FROM motions m WHERE m.request_id = q.id ORDER BY m.sample LIMIT 1) AS generator
                  FROM ratings r JOIN requests q ON q.id = r.request_id LEFT JOIN turns t ON t.id = q.turn_id
                  LEFT JOIN community_rating_context c ON c.request_id = r.request_id
                 ORDER BY r.created_at`,
      )
      .all() as Row[];
    return rows.map((r) => {
      const request = parseRequest(r.request_json as string | null);
      const first = request?.segments?.[0];
      return {
        requestId: r.request_id as string,
        userId: r.user_id as string,
        value: r.value as 1 | -1,
        ratedAt: r.created_at as string,
        text: request?.segments?.map((s) => s.text).join(' → ') ?? null,
        norm: first ? normalisePhrase(first.text) : null,
        seed: request?.seed ?? null,
        k: first?.descriptions?.length ?? 0,
        modelVersion: (r.model_version as string | null) ?? request?.modelVersion ?? null,
        planner: (r.planner as string | null) ?? null,
        generator: (r.generator as string | null) ?? null,
      };
    });
  }
}

export interface RatedResult {
  requestId: string;
  userId: string;
  value: 1 | -1;
  ratedAt: string;
  text: string | null;
  norm: string | null;
  seed: number | null;
  k: number;
  modelVersion: string | null;
  planner: string | null;
  generator: string | null;
}

interface StoredRequest {
  segments?: { text: string; descriptions?: string[] }[];
  seed?: number;
  modelVersion?: string;
}

function parseRequest(text: string | null): StoredRequest | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as StoredRequest;
  } catch {
    return undefined;
  }
}
