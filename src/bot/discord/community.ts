/**
 * Community zero-shot testing on Discord: the phrase pool, blinded A/B duels with A / B / Neither buttons,
 * charades rounds played in a thread, 👍/👎 reactions as ratings, and the sweep that closes duels and times
 * out rounds. State lives in the community tables, so a restarted bot reveals what came due while it was down.
 */
import { configAsEnv } from '../../config/index.js';
import { randomInt } from 'node:crypto';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  MessageFlags,
  PermissionFlagsBits,
} from 'discord.js';
import type {
  ButtonInteraction,
  ChatInputCommandInteraction,
  Message,
  MessageReaction,
  PartialMessageReaction,
  PartialUser,
  SendableChannels,
  User,
} from 'discord.js';
import { MotionFiles } from '../../jobs/index.js';
import { sharedSentenceEncoder } from '../../motion/text/index.js';
import {
  Actor,
  CommunityStore,
  GUESS_THRESHOLD,
  GuessMatcher,
  buildReport,
  checkPhrase,
  duelUnavailable,
  hintFor,
  hintsDue,
  phraseLines,
  planDuel,
  reportCharts,
  revealText,
  summaryLines,
} from '../../community/index.js';
import type { DescriptionLookup, Duel, DuelChoice, Game, Phrase } from '../../community/index.js';
import type { BotContext } from './context.js';
import { baseChannelId, isChannelAllowed, notAllowedMessage } from './context.js';

export interface CommunityOptions {
  /** How long a duel takes votes once posted (default 10 minutes). */
  duelVotingMs?: number;
  /** How long a charades round lasts once posted (default 5 minutes). */
  roundMs?: number;
  /** A hint after every this many wrong guesses (default 3), at most `maxHints` (default 3). */
  hintEvery?: number;
  maxHints?: number;
  /** Length of community clips in seconds (default 4). */
  clipSeconds?: number;
  /** How often due duels and rounds are checked (default 5 s). */
  sweepMs?: number;
  guessThreshold?: number;
  /** Where the LLM settings for Action-GPT come from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Per-user limits: [count, window ms]. */
  limits?: Partial<Record<'submit' | 'duel' | 'game' | 'guess', [number, number]>>;
}

const DEFAULT_LIMITS: Record<'submit' | 'duel' | 'game' | 'guess', [number, number]> = {
  submit: [5, 10 * 60_000],
  duel: [3, 10 * 60_000],
  game: [3, 10 * 60_000],
  guess: [12, 60_000],
};

const LIMIT_WORDS: Record<keyof typeof DEFAULT_LIMITS, string> = {
  submit: 'submissions',
  duel: 'duels',
  game: 'rounds started',
  guess: 'guesses',
};

const DUEL_CHOICES: Record<string, DuelChoice> = { a: 'A', b: 'B', n: 'N' };

export function duelButtonId(duelId: string, choice: DuelChoice): string {
  return `cz:duel:${duelId}:${choice.toLowerCase()}`;
}

export function parseCommunityButton(customId: string): { duelId: string; choice: DuelChoice } | undefined {
  const m = /^cz:duel:([0-9a-f-]{36}):([abn])$/.exec(customId);
  return m ? { duelId: m[1], choice: DUEL_CHOICES[m[2]] } : undefined;
}

function duelButtons(duelId: string): ActionRowBuilder<ButtonBuilder>[] {
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId(duelButtonId(duelId, 'A')).setLabel('A is better').setStyle(ButtonStyle.Primary),
      new ButtonBuilder().setCustomId(duelButtonId(duelId, 'B')).setLabel('B is better').setStyle(ButtonStyle.Primary),
      new ButtonBuilder().setCustomId(duelButtonId(duelId, 'N')).setLabel('Neither').setStyle(ButtonStyle.Secondary),
    ),
  ];
}

const relative = (iso: string) => `<t:${Math.floor(Date.parse(iso) / 1000)}:R>`;
const quote = (s: string) => `“${s}”`;

export class CommunityBot {
  readonly store: CommunityStore;
  readonly actor: Actor;
  readonly matcher: GuessMatcher;
  private readonly o: Required<Omit<CommunityOptions, 'env' | 'limits' | 'guessThreshold'>> & {
    limits: typeof DEFAULT_LIMITS;
  };
  private expander?: Promise<DescriptionLookup | undefined>;
  private readonly sweepTimer: NodeJS.Timeout;
  private sweeping: Promise<void> = Promise.resolve();
  /** Guesses of one round are judged one at a time, so hints and the winner follow the order of messages. */
  private readonly roundQueues = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly ctx: BotContext,
    private readonly options: CommunityOptions = {},
  ) {
    const { runtime } = ctx;
    this.store = new CommunityStore(runtime.store.db);
    this.o = {
      duelVotingMs: options.duelVotingMs ?? 10 * 60_000,
      roundMs: options.roundMs ?? 5 * 60_000,
      hintEvery: options.hintEvery ?? 3,
      maxHints: options.maxHints ?? 3,
      clipSeconds: options.clipSeconds ?? 4,
      sweepMs: options.sweepMs ?? 5_000,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    };
    this.actor = new Actor(runtime.config, {
      generator: runtime.stages?.generator,
      renderer: runtime.stages?.renderer,
      render: runtime.config.render,
      log: (m) => runtime.logger.warn(m),
    });
    this.matcher = new GuessMatcher(() => sharedSentenceEncoder(), options.guessThreshold ?? GUESS_THRESHOLD);
    this.sweepTimer = setInterval(() => void this.sweep(), this.o.sweepMs);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    await this.sweeping;
    await Promise.allSettled([...this.roundQueues.values()]);
    await this.actor.close();
  }

  // ---------------------------------------------------------------- limits and helpers

  /** Counts an action against the user's limit; returns the refusal to show when over it. */
  private overLimit(userId: string, kind: keyof typeof DEFAULT_LIMITS): string | undefined {
    const [count, windowMs] = this.o.limits[kind];
    const since = new Date(Date.now() - windowMs).toISOString();
    const used = this.store.eventsSince(userId, kind, since);
    if (used >= count)
      return `⏳ Slow down: at most ${count} ${LIMIT_WORDS[kind]} per ${Math.round(windowMs / 60_000) || 1} minute${windowMs > 60_000 ? 's' : ''}. Try again in a little while.`;
    this.store.recordEvent(userId, kind);
    return undefined;
  }

  /** Action-GPT descriptions only when an LLM is configured: without one the duel compares something else. */
  private descriptionLookup(): Promise<DescriptionLookup | undefined> {
    this.expander ??= import('../../agent/index.js')
      .then(({ createAgentFromEnv }) => {
        const env = { ...(this.options.env ?? configAsEnv(this.ctx.runtime.config)), CHARADES_PLANNER: 'offline' };
        const configured = createAgentFromEnv(env);
        return configured.settings.provider !== 'none' && configured.settings.expand === 'llm'
          ? configured.expander
          : undefined;
      })
      .catch((err: Error) => {
        this.ctx.runtime.logger.warn({ err: err.message }, 'Action-GPT is unavailable for community clips');
        return undefined;
      });
    return this.expander;
  }

  private async sendable(channelId: string): Promise<SendableChannels | undefined> {
    const channel = await this.ctx.client.channels.fetch(channelId).catch(() => null);
    return channel && channel.isSendable() ? channel : undefined;
  }

  private async editPosted(
    channelId: string | null,
    messageId: string | null,
    edit: (content: string) => string,
  ): Promise<void> {
    if (!channelId || !messageId) return;
    const channel = await this.sendable(channelId);
    if (!channel) return;
    const message = await channel.messages.fetch(messageId);
    await message.edit({ content: edit(message.content).slice(0, 2000), components: [] });
  }

  private isAdmin(interaction: ChatInputCommandInteraction): boolean {
    return Boolean(interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild));
  }

  private channelRefusal(interaction: ChatInputCommandInteraction): string | undefined {
    const guildId = interaction.guildId;
    return isChannelAllowed(this.ctx, guildId, baseChannelId(interaction.channel, interaction.channelId))
      ? undefined
      : notAllowedMessage(this.ctx, guildId);
  }

  // ---------------------------------------------------------------- the pool

  submit(userId: string, guildId: string | null, raw: string): string {
    const checked = checkPhrase(raw);
    if (!checked.ok) return checked.reason;
    const existing = this.store.phraseByNorm(checked.norm);
    if (existing) {
      return existing.removedAt
        ? 'That phrase was removed from the pool by an admin.'
        : `Already in the pool as #${existing.id} ${quote(existing.text)} — thanks anyway!`;
    }
    const limited = this.overLimit(userId, 'submit');
    if (limited) return limited;
    const outcome = this.store.submit({ text: checked.text, norm: checked.norm, userId, guildId });
    return `Added #${outcome.phrase.id} ${quote(outcome.phrase.text)} to the zero-shot pool (${this.store.poolSize()} phrases). Try it with \`/zeroshot duel\` or \`/charades start\`.`;
  }

  list(page: number): string {
    const size = 20;
    const total = this.store.poolSize();
    if (total === 0)
      return 'The zero-shot pool is empty: add a phrase with `/zeroshot submit phrase:juggle three balls`.';
    const pages = Math.ceil(total / size);
    const p = Math.min(Math.max(1, page), pages);
    const rows = this.store.phrases(size, (p - 1) * size).map((x) => `#${x.id} ${x.text}`);
    return [`**Zero-shot pool** — ${total} phrase${total === 1 ? '' : 's'} (page ${p} of ${pages})`, ...rows].join(
      '\n',
    );
  }

  remove(interaction: ChatInputCommandInteraction, ref: string): string {
    if (!this.isAdmin(interaction)) return 'Only members with the Manage Server permission can remove phrases.';
    const byId = /^#?(\d+)$/.exec(ref.trim());
    const checked = checkPhrase(ref);
    const phrase = byId
      ? this.store.phrase(Number(byId[1]))
      : this.store.phraseByNorm(checked.ok ? checked.norm : ref.trim().toLowerCase());
    if (!phrase) return `No phrase ${quote(ref.trim())} in the pool (give its #id from \`/zeroshot list\`).`;
    if (phrase.removedAt) return `#${phrase.id} was already removed.`;
    this.store.removePhrase(phrase.id, interaction.user.id);
    return `Removed #${phrase.id} ${quote(phrase.text)} from the pool; its past votes stay in the report.`;
  }

  // ---------------------------------------------------------------- duels

  async duel(interaction: ChatInputCommandInteraction, raw: string | null): Promise<void> {
    const reply = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral });
    const refusal = this.channelRefusal(interaction);
    if (refusal) return void (await reply(refusal));
    let phrase: Phrase | undefined;
    if (raw !== null && raw.trim()) {
      const checked = checkPhrase(raw);
      if (!checked.ok) return void (await reply(checked.reason));
      const known = this.store.phraseByNorm(checked.norm);
      if (known?.removedAt) return void (await reply('That phrase was removed from the pool by an admin.'));
      phrase = known;
      if (!phrase) {
        const limited = this.overLimit(interaction.user.id, 'submit');
        if (limited) return void (await reply(limited));
        phrase = this.store.submit({
          text: checked.text,
          norm: checked.norm,
          userId: interaction.user.id,
          guildId: interaction.guildId,
        }).phrase;
      }
    } else {
      phrase = this.store.leastPlayedPhrase('duel', randomInt);
      if (!phrase)
        return void (await reply(
          'The zero-shot pool is empty: give a phrase (`/zeroshot duel phrase:…`) or add some with `/zeroshot submit`.',
        ));
    }
    const limited = this.overLimit(interaction.user.id, 'duel');
    if (limited) return void (await reply(limited));
    const unavailable = duelUnavailable(await this.actor.generatorName());
    if (unavailable) return void (await reply(unavailable));
    await interaction.deferReply();
    const plan = await planDuel(phrase.text, await this.descriptionLookup());
    const seed = randomInt(2 ** 31 - 1);
    const duel = this.store.createDuel({
      phraseId: phrase.id,
      guildId: interaction.guildId,
      channelId: interaction.channelId,
      createdBy: interaction.user.id,
      variable: plan.variable,
      a: plan.a,
      b: plan.b,
      seed,
    });
    try {
      await interaction.editReply({ content: `🥊 Rendering a duel of ${quote(phrase.text)}…` });
      const [left, right] = await Promise.all(
        [plan.a, plan.b].map((v) =>
          this.actor.act({
            text: phrase.text,
            seconds: this.o.clipSeconds,
            seed,
            descriptions: v.descriptions,
            guidance: v.guidance,
          }),
        ),
      );
      for (const [variant, motion] of [
        [plan.a, left],
        [plan.b, right],
      ] as const) {
        const metrics = await this.actor.measure(motion, phrase.text);
        this.store.addGenerated({
          phraseId: phrase.id,
          source: 'duel',
          refId: duel.id,
          variant: variant.label,
          k: variant.k,
          guidance: variant.guidance,
          modelVersion: this.actor.modelVersionOf(motion) ?? undefined,
          seed,
          ...metrics,
        });
      }
      const mp4 = await this.actor.renderDuel(phrase.text, left, right);
      const closesAt = new Date(Date.now() + this.o.duelVotingMs).toISOString();
      const content = [
        `🥊 **Blind duel** #${phrase.id}: ${quote(phrase.text)}`,
        `Which side acts it out better? Vote **A**, **B** or **Neither** — one vote each, changeable until voting closes ${relative(closesAt)}.`,
        `-# ${plan.about} Sides are assigned at random and revealed when voting closes.`,
      ].join('\n');
      const message = await interaction.editReply({
        content,
        files: [new AttachmentBuilder(mp4, { name: 'duel.mp4', description: `Duel: ${phrase.text}`.slice(0, 100) })],
        components: duelButtons(duel.id),
      });
      this.store.openDuel(duel.id, {
        messageId: message.id,
        channelId: message.channelId,
        closesAt,
        modelVersion: this.actor.modelVersionOf(left),
      });
    } catch (err) {
      this.store.failDuel(duel.id, (err as Error).message);
      this.ctx.runtime.logger.warn({ err: (err as Error).message, duel: duel.id }, 'duel failed');
      await interaction.editReply({
        content: `😵 I could not stage that duel: ${(err as Error).message.slice(0, 1500)}`,
        components: [],
      });
    }
  }

  async handleButton(interaction: ButtonInteraction): Promise<void> {
    const reply = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral });
    const parsed = parseCommunityButton(interaction.customId);
    if (!parsed) return void (await reply('I do not know this button (it may be from an older version of Charades).'));
    const duel = this.store.duel(parsed.duelId);
    if (!duel) return void (await reply('That duel is no longer in my store.'));
    if (duel.status !== 'open' || (duel.closesAt && Date.parse(duel.closesAt) <= Date.now())) {
      const tally = this.store.duelTally(duel.id);
      return void (await reply(
        `Voting on this duel has closed. ${duel.status === 'closed' ? revealText(duel.a, duel.b, tally) : 'The result is revealed in a moment.'}`,
      ));
    }
    const { changed } = this.store.voteDuel(duel.id, interaction.user.id, parsed.choice);
    const said = parsed.choice === 'N' ? 'neither' : parsed.choice;
    await reply(
      `${changed ? 'Changed your vote to' : 'Your vote:'} **${said}**. You can change it until voting closes ${relative(duel.closesAt!)}; the sides are revealed then.`,
    );
  }

  private async revealDuel(duel: Duel): Promise<void> {
    if (!this.store.closeDuel(duel.id)) return;
    const reveal = revealText(duel.a, duel.b, this.store.duelTally(duel.id));
    await this.editPosted(
      duel.channelId,
      duel.messageId,
      (content) => `${content.replace(/\nWhich side acts it out better\?[^\n]*/, '\nVoting has closed.')}\n${reveal}`,
    ).catch((err: Error) =>
      this.ctx.runtime.logger.warn({ err: err.message, duel: duel.id }, 'could not post the duel reveal'),
    );
  }

  // ---------------------------------------------------------------- charades

  async startGame(interaction: ChatInputCommandInteraction): Promise<void> {
    const reply = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral });
    const guildId = interaction.guildId;
    if (!guildId) return void (await reply('Charades rounds are played in a server channel.'));
    if (interaction.channel?.isThread())
      return void (await reply('Start a round in a channel, not in a thread: the round opens its own thread.'));
    const refusal = this.channelRefusal(interaction);
    if (refusal) return void (await reply(refusal));
    const running = this.store.activeGameIn(interaction.channelId);
    if (running)
      return void (await reply(
        `A round is already running here${running.threadId ? ` in <#${running.threadId}>` : ''}; guess there, or \`/charades stop\` it.`,
      ));
    const phrase = this.store.leastPlayedPhrase('game', randomInt);
    if (!phrase)
      return void (await reply(
        'The zero-shot pool is empty, so there is nothing to act: add phrases with `/zeroshot submit`.',
      ));
    const limited = this.overLimit(interaction.user.id, 'game');
    if (limited) return void (await reply(limited));
    await interaction.deferReply();
    const seed = randomInt(2 ** 31 - 1);
    const game = this.store.createGame({
      phraseId: phrase.id,
      guildId,
      channelId: interaction.channelId,
      startedBy: interaction.user.id,
      seed,
    });
    try {
      await interaction.editReply({ content: '🎭 Thinking of something to act…' });
      const lookup = await this.descriptionLookup();
      const descriptions = lookup
        ? (await lookup.lookup(phrase.text).catch(() => ({ descriptions: [] as string[] }))).descriptions
        : [];
      const motion = await this.actor.act({ text: phrase.text, seconds: this.o.clipSeconds, seed, descriptions });
      const metrics = await this.actor.measure(motion, phrase.text);
      this.store.addGenerated({
        phraseId: phrase.id,
        source: 'game',
        refId: game.id,
        variant: descriptions.length ? `k=${descriptions.length}` : 'k=0',
        k: descriptions.length,
        modelVersion: this.actor.modelVersionOf(motion) ?? undefined,
        seed,
        ...metrics,
      });
      const mp4 = await this.actor.renderSecret(motion);
      const deadlineAt = new Date(Date.now() + this.o.roundMs).toISOString();
      const words = phrase.norm.split(' ').length;
      const message = await interaction.editReply({
        content: `🎭 **Charades!** What am I acting? (${words} word${words === 1 ? '' : 's'}) Guess in the thread — the round ends ${relative(deadlineAt)}; a hint comes after every ${this.o.hintEvery} wrong guesses.`,
        files: [
          new AttachmentBuilder(mp4, { name: 'charades.mp4', description: 'A charades round: guess the action' }),
        ],
      });
      const thread = await message.startThread({ name: 'Charades — guess here', autoArchiveDuration: 60 });
      this.store.openGame(game.id, {
        messageId: message.id,
        threadId: thread.id,
        deadlineAt,
        modelVersion: this.actor.modelVersionOf(motion),
      });
    } catch (err) {
      this.store.endGame(game.id, 'failed', { error: (err as Error).message });
      this.ctx.runtime.logger.warn({ err: (err as Error).message, game: game.id }, 'charades round failed');
      await interaction.editReply({
        content: `😵 I could not start the round: ${(err as Error).message.slice(0, 1500)}`,
      });
    }
  }

  async stopGame(interaction: ChatInputCommandInteraction): Promise<string> {
    const game = this.store.activeGameIn(interaction.channelId);
    if (!game) return 'No round is running here.';
    if (game.startedBy !== interaction.user.id && !this.isAdmin(interaction))
      return `Only <@${game.startedBy}> (who started it) or an admin can stop this round.`;
    if (game.status !== 'open') return 'The round is still being acted; stop it once the video is up.';
    await this.finishRound(game, 'stopped');
    return 'Round stopped; the answer is in the thread. Stopped rounds do not count in the recognition rate.';
  }

  leaderboard(guildId: string | null): string {
    if (!guildId) return 'Leaderboards belong to a server; use this command in one.';
    const rows = this.store.leaderboard(guildId);
    if (!rows.length) return 'No charades rounds have been solved in this server yet: `/charades start` one!';
    return [
      '🏆 **Charades leaderboard**',
      ...rows.map((r, i) => `${i + 1}. <@${r.userId}> — ${r.wins} round${r.wins === 1 ? '' : 's'}`),
    ].join('\n');
  }

  /** Whether a message is a guess in a running round (synchronous, so routing needs no await). */
  ownsMessage(message: Message): boolean {
    if (message.author.bot || !message.channel.isThread()) return false;
    const game = this.store.activeGameIn(message.channelId);
    return game?.threadId === message.channelId && game.status === 'open';
  }

  handleGuess(message: Message): Promise<void> {
    const game = this.store.activeGameIn(message.channelId);
    if (!game) return Promise.resolve();
    const previous = this.roundQueues.get(game.id) ?? Promise.resolve();
    const next = previous.then(() => this.judgeGuess(game.id, message));
    const settled = next.catch((err: Error) =>
      this.ctx.runtime.logger.warn({ err: err.message, game: game.id }, 'guess handling failed'),
    );
    this.roundQueues.set(game.id, settled);
    void settled.finally(() => {
      if (this.roundQueues.get(game.id) === settled) this.roundQueues.delete(game.id);
    });
    return next;
  }

  private async judgeGuess(gameId: string, message: Message): Promise<void> {
    const game = this.store.game(gameId);
    if (!game || game.status !== 'open') return;
    // A guess that mentions someone (the bot, a friend) is still a guess; the mention is not part of it.
    const text = message.content
      .replace(/<@[!&]?\d+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    if (!text) return;
    if (text.length > 200)
      return void (await message.reply({
        content: 'Guesses are at most 200 characters.',
        allowedMentions: { parse: [], repliedUser: false },
      }));
    const limited = this.overLimit(message.author.id, 'guess');
    if (limited)
      return void (await message.reply({ content: limited, allowedMentions: { parse: [], repliedUser: false } }));
    const phrase = this.store.phrase(game.phraseId)!;
    const verdict = await this.matcher.judge(text, phrase.text);
    const after = this.store.addGuess(game.id, message.author.id, text, verdict.similarity, verdict.correct);
    if (verdict.correct) {
      await this.finishRound(after, 'solved', {
        winnerId: message.author.id,
        exact: verdict.exact,
        similarity: verdict.similarity,
      });
      return;
    }
    const due = hintsDue(after.wrongGuesses, { every: this.o.hintEvery, max: this.o.maxHints });
    if (due > after.hints) {
      this.store.setHints(game.id, due);
      const channel = await this.sendable(message.channelId);
      await channel?.send({ content: `💡 Hint ${due}: ${hintFor(phrase.text, due)}` });
    }
  }

  private async finishRound(
    game: Game,
    status: 'solved' | 'timeout' | 'stopped',
    win?: { winnerId: string; exact: boolean; similarity: number },
  ): Promise<void> {
    if (!this.store.endGame(game.id, status, { winnerId: win?.winnerId })) return;
    const phrase = this.store.phrase(game.phraseId)!;
    const wrong = this.store.game(game.id)?.wrongGuesses ?? game.wrongGuesses;
    const line =
      status === 'solved'
        ? `✅ <@${win!.winnerId}> got it${win!.exact ? '' : ` (similarity ${win!.similarity.toFixed(2)})`}! It was **${phrase.text}** — after ${wrong} wrong guess${wrong === 1 ? '' : 'es'}.`
        : status === 'timeout'
          ? `⏰ Time's up! It was **${phrase.text}**. Nobody recognised it this round (${wrong} wrong guess${wrong === 1 ? '' : 'es'}).`
          : `⏹️ Round stopped. It was **${phrase.text}**.`;
    const thread = game.threadId ? await this.sendable(game.threadId) : undefined;
    await thread
      ?.send({ content: line, allowedMentions: { parse: [], users: win ? [win.winnerId] : [] } })
      .catch((err: Error) => this.ctx.runtime.logger.warn({ err: err.message }, 'could not post the reveal'));
    await this.editPosted(
      game.channelId,
      game.messageId,
      (content) => `${content.replace(/ Guess in the thread.*$/s, '')}\n🔓 ${line}`,
    ).catch((err: Error) =>
      this.ctx.runtime.logger.warn({ err: err.message, game: game.id }, 'could not edit the round message'),
    );
  }

  // ---------------------------------------------------------------- due duels and rounds

  /** Closes duels and ends rounds whose time is over; runs one at a time. */
  sweep(): Promise<void> {
    this.sweeping = this.sweeping
      .then(async () => {
        if (this.closed) return;
        const at = new Date().toISOString();
        for (const duel of this.store.duelsDue(at)) await this.revealDuel(duel);
        for (const game of this.store.gamesDue(at)) {
          const queued = this.roundQueues.get(game.id) ?? Promise.resolve();
          await queued.then(() => this.finishRound(this.store.game(game.id) ?? game, 'timeout'));
        }
      })
      .catch((err: Error) => this.ctx.runtime.logger.warn({ err: err.message }, 'community sweep failed'));
    return this.sweeping;
  }

  // ---------------------------------------------------------------- reports and ratings

  report(): { content: string; files: AttachmentBuilder[] } {
    const report = buildReport(this.store);
    const charts = reportCharts(report);
    const perPhrase = phraseLines(report);
    const content = [
      '📊 **Community zero-shot report**',
      ...summaryLines(report),
      ...(perPhrase.length ? ['**Per phrase**', ...perPhrase] : []),
      ...report.notes.map((n) => `-# ${n}`),
    ].join('\n');
    return {
      content: content.slice(0, 1900),
      files: ['ab-win-rate.png', 'recognition.png'].map((name) => new AttachmentBuilder(charts[name], { name })),
    };
  }

  /** Keeps the model version of a rated clip with the rating (it lives in the motion file, not the request row). */
  noteRating(jobId: string): void {
    const first = this.ctx.runtime.store.motionsOf(jobId)[0];
    let version: string | null = null;
    if (first) {
      try {
        version = new MotionFiles(this.ctx.runtime.config.dataDir).load(first.id).provenance.modelVersion ?? null;
      } catch {
        version = null;
      }
    }
    this.store.recordRatingContext(jobId, version);
  }

  /** 👍/👎 reactions on a result message rate it like the buttons; removing the reaction withdraws the vote. */
  async handleReaction(
    reaction: MessageReaction | PartialMessageReaction,
    user: User | PartialUser,
    added: boolean,
  ): Promise<void> {
    if (user.bot) return;
    const value = reaction.emoji.name === '👍' ? 1 : reaction.emoji.name === '👎' ? -1 : 0;
    if (value === 0) return;
    const jobId = this.ctx.runtime.store.jobDeliveredAs(`discord:${reaction.message.channelId}:${reaction.message.id}`);
    if (!jobId || !this.ctx.runtime.store.request(jobId)) return;
    if (added) {
      this.ctx.runtime.store.rate(jobId, user.id, value);
      this.noteRating(jobId);
    } else {
      this.ctx.runtime.store.unrate(jobId, user.id, value);
    }
  }
}

const instances = new WeakMap<BotContext, CommunityBot>();

export function attachCommunity(ctx: BotContext, options: CommunityOptions = {}): CommunityBot {
  const bot = new CommunityBot(ctx, options);
  instances.set(ctx, bot);
  return bot;
}

export function communityOf(ctx: BotContext): CommunityBot {
  let bot = instances.get(ctx);
  if (!bot) bot = attachCommunity(ctx);
  return bot;
}
