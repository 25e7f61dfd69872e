/**
 * `charades serve`: the Discord bot. Intents are only what it needs: Guilds (interactions, threads),
 * GuildMessages (mentions and thread follow-ups), MessageContent (to read follow-ups in threads) and
 * GuildMessageReactions (👍/👎 reactions rate results).
 */
import { Client, Events, GatewayIntentBits, MessageFlags, Partials, REST, Routes } from 'discord.js';
import type {
  ChatInputCommandInteraction,
  Interaction,
  Message,
  MessageReaction,
  PartialMessageReaction,
  PartialUser,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  User,
} from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { requireDiscord } from '../../config/index.js';
import type { Stages } from '../../jobs/index.js';
import { createLogger, guardProcess, onShutdown, startOpsServer } from '../../ops/index.js';
import type { OpsServer } from '../../ops/index.js';
import { createRuntime } from '../runtime.js';
import type { Runtime } from '../runtime.js';
import { handleButton } from './buttons.js';
import * as act from './commands/act.js';
import * as charades from './commands/charades.js';
import * as continueCommand from './commands/continue.js';
import * as help from './commands/help.js';
import * as queue from './commands/queue.js';
import * as settings from './commands/settings.js';
import * as train from './commands/train.js';
import * as zeroshot from './commands/zeroshot.js';
import { attachCommunity, communityOf } from './community.js';
import type { CommunityOptions } from './community.js';
import type { BotContext } from './context.js';
import { handleMessage } from './messages.js';
import { clip, resumeDiscordDeliveries } from './deliver.js';
import { loginWithin, watchGateway } from './gateway.js';
import { keepRegistering } from './registration.js';
import type { Registration, RegistrationOptions } from './registration.js';

export interface SlashCommand {
  data: { name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
}

export const COMMANDS: readonly SlashCommand[] = [
  act,
  continueCommand,
  help,
  queue,
  settings,
  train,
  zeroshot,
  charades,
];

export const INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.MessageContent,
  GatewayIntentBits.GuildMessageReactions,
] as const;

export interface DiscordBot {
  client: Client;
  runtime: Runtime;
  ops?: OpsServer;
  /** Slash-command registration, retried in the background when Discord refuses it. */
  registration?: Registration;
  close(): Promise<void>;
}

export interface DiscordBotOptions {
  registerCommands?: boolean;
  stages?: Stages;
  logger?: Logger;
  /** Interaction token lifetime to plan for (Discord: 15 min); tests shorten it. */
  tokenLifetimeMs?: number;
  /** Duel voting time, round length, hints, limits of the community features; tests shorten them. */
  community?: CommunityOptions;
  /** How long login may take before the bot gives up and says what to check (default 60 s). */
  loginTimeoutMs?: number;
  /** Retry delays of a refused slash-command registration. */
  registration?: RegistrationOptions;
  /** Progress edits of one message are at most this often (default 1 s). */
  progressIntervalMs?: number;
}

/** Registers the slash commands; returns how many. */
export async function registerSlashCommands(config: Config): Promise<number> {
  const { token, appId } = requireDiscord(config);
  const rest = new REST(config.discord.api ? { api: config.discord.api } : {}).setToken(token);
  const body = COMMANDS.map((c) => c.data.toJSON());
  const route = config.discord.guildId
    ? Routes.applicationGuildCommands(appId, config.discord.guildId)
    : Routes.applicationCommands(appId);
  await rest.put(route, { body });
  return body.length;
}

async function dispatchInteraction(ctx: BotContext, interaction: Interaction): Promise<void> {
  if (interaction.isChatInputCommand()) {
    const command = COMMANDS.find((c) => c.data.name === interaction.commandName);
    if (!command) {
      await interaction.reply({
        content: `Unknown command /${interaction.commandName}.`,
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    await command.execute(interaction, ctx);
  } else if (interaction.isButton()) {
    if (interaction.customId.startsWith('cz:')) await communityOf(ctx).handleButton(interaction);
    else await handleButton(ctx, interaction);
  }
}

/** Tells the user their interaction failed, in whatever state it is in (not yet answered, deferred, answered). */
async function sayInteractionFailed(interaction: Interaction, err: Error): Promise<void> {
  if (!interaction.isRepliable()) return;
  const content = `😵 Something went wrong: ${clip(err.message, 1500)}`;
  if (!interaction.replied && !interaction.deferred)
    await interaction.reply({ content, flags: MessageFlags.Ephemeral });
  else if (interaction.deferred && !interaction.replied) await interaction.editReply({ content, components: [] });
  else await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
}

/**
 * Wraps an event handler so nothing it does — a synchronous throw, a rejection, a failure while telling
 * the user — can reach the process: it is logged, and `recover` may answer the user.
 */
function guarded<A extends unknown[]>(
  log: Logger,
  what: string,
  track: (p: Promise<unknown>) => void,
  handler: (...args: A) => Promise<unknown>,
  recover?: (err: Error, ...args: A) => Promise<unknown>,
): (...args: A) => void {
  return (...args: A) => {
    let running: Promise<unknown>;
    try {
      running = handler(...args);
    } catch (err) {
      running = Promise.reject(err);
    }
    track(
      running.catch(async (raw: unknown) => {
        const err = raw instanceof Error ? raw : new Error(String(raw));
        log.error({ err: err.message, stack: err.stack }, `${what} failed`);
        await recover?.(err, ...args).catch((again: Error) =>
          log.warn({ err: again.message }, `could not tell the user that ${what} failed`),
        );
      }),
    );
  };
}

export async function startDiscordBot(config: Config, options: DiscordBotOptions = {}): Promise<DiscordBot> {
  const { token } = requireDiscord(config);
  const runtime = await createRuntime(config, {
    stages: options.stages,
    logger: options.logger,
    name: 'charades-discord',
  });
  const client = new Client({
    intents: [...INTENTS],
    rest: config.discord.api ? { api: config.discord.api } : {},
    // Nothing the bot says pings anyone unless a message names who (a requester answered in the channel):
    // prompts and replies echo user text, which may hold @everyone or role mentions.
    allowedMentions: { parse: [], repliedUser: false },
    // Reactions on results sent before this process started arrive for messages it never cached.
    partials: [Partials.Message, Partials.Reaction, Partials.User],
  });
  const ctx: BotContext = {
    runtime,
    client,
    tokenLifetimeMs: options.tokenLifetimeMs ?? 14 * 60_000,
    progressIntervalMs: options.progressIntervalMs,
  };
  const community = attachCommunity(ctx, options.community);
  const log = runtime.logger;
  // Handlers still running at shutdown (their final edits or "shutting down" notes) are awaited before the
  // client goes away, so nobody is left looking at a frozen "Rendering…".
  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  client.on(
    Events.InteractionCreate,
    guarded(
      log,
      'interaction handling',
      track,
      (interaction: Interaction) => dispatchInteraction(ctx, interaction),
      (err, interaction) => sayInteractionFailed(interaction, err),
    ),
  );
  client.on(
    Events.MessageCreate,
    guarded(
      log,
      'message handling',
      track,
      (message: Message) =>
        community.ownsMessage(message) ? community.handleGuess(message) : handleMessage(ctx, message),
      async (err, message) => {
        if (client.user && message.mentions.users.has(client.user.id))
          await message.reply({
            content: `😵 Something went wrong: ${clip(err.message, 1500)}`,
            allowedMentions: { parse: [], repliedUser: false },
          });
      },
    ),
  );
  client.on(
    Events.MessageReactionAdd,
    guarded(
      log,
      'reaction handling',
      track,
      (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) =>
        community.handleReaction(reaction, user, true),
    ),
  );
  client.on(
    Events.MessageReactionRemove,
    guarded(
      log,
      'reaction handling',
      track,
      (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) =>
        community.handleReaction(reaction, user, false),
    ),
  );
  client.on(Events.Error, (err) => log.error({ err: err.message }, 'discord client error'));
  const gateway = watchGateway(client, log);
  const registration =
    options.registerCommands === false
      ? undefined
      : keepRegistering(() => registerSlashCommands(config), log, options.registration);
  const where = config.discord.api ? ` at ${config.discord.api}` : '';
  try {
    await loginWithin(client, token, options.loginTimeoutMs ?? 60_000, gateway, where);
  } catch (err) {
    registration?.stop();
    gateway.stop();
    await client.destroy();
    await community.close();
    await runtime.close();
    throw err;
  }
  await registration?.first;
  // Replies an earlier run could not send (restart, crash, jobs finished while no bot ran) go out now.
  for (const delivery of resumeDiscordDeliveries(ctx)) track(delivery);
  const ops =
    config.metricsPort === undefined
      ? undefined
      : await startOpsServer(config.metricsPort, runtime.metrics.registry, async () => ({
          ok: client.isReady(),
          discord: client.isReady() ? 'ready' : 'not ready',
          commands: registration?.registered() ?? 'not registered by this bot',
          queue: runtime.queue.kind,
          depth: await runtime.queue.depth(),
          rssMb: Math.round(process.memoryUsage().rss / 1048576),
        }));
  log.info({ user: client.user?.tag, guilds: client.guilds.cache.size, metricsPort: ops?.port }, 'discord bot ready');
  let closing: Promise<void> | undefined;
  return {
    client,
    runtime,
    ops,
    registration,
    close() {
      closing ??= (async () => {
        registration?.stop();
        await runtime.queue.close();
        await Promise.allSettled([...inFlight]);
        await community.close();
        gateway.stop();
        await client.destroy();
        await ops?.close();
        await runtime.close();
      })();
      return closing;
    },
  };
}

/**
 * `charades serve`: the bot as a process. A rejected promise nobody awaited (a throw while discord.js parses
 * a payload ends up there) is logged and the bot stays up; an uncaught exception leaves the process in an
 * unknown state, so it is logged and the bot shuts down cleanly (Chromium killed, temp folders removed)
 * with exit code 1. SIGINT/SIGTERM finish in-flight jobs first.
 */
export async function serveDiscord(config: Config, options: DiscordBotOptions = {}): Promise<DiscordBot> {
  const logger = options.logger ?? createLogger(config, 'charades-discord');
  // A crash during start-up has no bot to close yet; the renderer's exit hook still cleans up.
  const running: { bot?: DiscordBot } = {};
  guardProcess(logger, async () => running.bot?.close());
  const bot = await startDiscordBot(config, { ...options, logger });
  running.bot = bot;
  onShutdown([() => bot.close()], (m) => logger.info(m));
  return bot;
}
