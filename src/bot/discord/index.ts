/**
 * `charades serve`: the Discord bot. Intents are only what it needs: Guilds (interactions, threads),
 * GuildMessages (mentions and thread follow-ups), MessageContent (to read follow-ups in threads) and
 * GuildMessageReactions (👍/👎 reactions rate results).
 */
import { Client, Events, GatewayIntentBits, MessageFlags, Partials, REST, Routes } from 'discord.js';
import type { ChatInputCommandInteraction, Interaction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { Config } from '../../config/index.js';
import { requireDiscord } from '../../config/index.js';
import type { Stages } from '../../jobs/index.js';
import { startOpsServer } from '../ops.js';
import type { OpsServer } from '../ops.js';
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
import { resumeDiscordDeliveries } from './deliver.js';

export interface SlashCommand {
  data: { name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
}

export const COMMANDS: readonly SlashCommand[] = [act, continueCommand, help, queue, settings, train, zeroshot, charades];

export const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.GuildMessageReactions] as const;

export interface DiscordBot {
  client: Client;
  runtime: Runtime;
  ops?: OpsServer;
  close(): Promise<void>;
}

export interface DiscordBotOptions {
  registerCommands?: boolean;
  stages?: Stages;
  /** Interaction token lifetime to plan for (Discord: 15 min); tests shorten it. */
  tokenLifetimeMs?: number;
  /** Duel voting time, round length, hints, limits of the community features; tests shorten them. */
  community?: CommunityOptions;
}

export async function registerSlashCommands(config: Config): Promise<void> {
  const { token, appId } = requireDiscord(config);
  const rest = new REST(config.discord.api ? { api: config.discord.api } : {}).setToken(token);
  const body = COMMANDS.map((c) => c.data.toJSON());
  const route = config.discord.guildId ? Routes.applicationGuildCommands(appId, config.discord.guildId) : Routes.applicationCommands(appId);
  await rest.put(route, { body });
}

async function dispatchInteraction(ctx: BotContext, interaction: Interaction): Promise<void> {
  if (interaction.isChatInputCommand()) {
    const command = COMMANDS.find((c) => c.data.name === interaction.commandName);
    if (!command) {
      await interaction.reply({ content: `Unknown command /${interaction.commandName}.`, flags: MessageFlags.Ephemeral });
      return;
    }
    await command.execute(interaction, ctx);
  } else if (interaction.isButton()) {
    if (interaction.customId.startsWith('cz:')) await communityOf(ctx).handleButton(interaction);
    else await handleButton(ctx, interaction);
  }
}

export async function startDiscordBot(config: Config, options: DiscordBotOptions = {}): Promise<DiscordBot> {
  const { token } = requireDiscord(config);
  const runtime = await createRuntime(config, { stages: options.stages, name: 'charades-discord' });
  const client = new Client({
    intents: [...INTENTS],
    rest: config.discord.api ? { api: config.discord.api } : {},
    allowedMentions: { parse: ['users'], repliedUser: false },
    // Reactions on results sent before this process started arrive for messages it never cached.
    partials: [Partials.Message, Partials.Reaction, Partials.User],
  });
  const ctx: BotContext = { runtime, client, tokenLifetimeMs: options.tokenLifetimeMs ?? 14 * 60_000 };
  const community = attachCommunity(ctx, options.community);
  const log = runtime.logger;
  // Handlers still running at shutdown (their final edits or "shutting down" notes) are awaited before the
  // client goes away, so nobody is left looking at a frozen "Rendering…".
  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  client.on(Events.InteractionCreate, (interaction) => {
    track(dispatchInteraction(ctx, interaction).catch(async (err: Error) => {
      log.error({ err: err.message, stack: err.stack }, 'interaction failed');
      if (interaction.isRepliable() && !interaction.replied && !interaction.deferred) {
        await interaction.reply({ content: `😵 Something went wrong: ${err.message}`, flags: MessageFlags.Ephemeral }).catch(() => undefined);
      }
    }));
  });
  client.on(Events.MessageCreate, (message) => {
    const handled = community.ownsMessage(message) ? community.handleGuess(message) : handleMessage(ctx, message);
    track(handled.catch((err: Error) => log.error({ err: err.message, stack: err.stack }, 'message handling failed')));
  });
  const onReaction = (p: Promise<void>) => track(p.catch((err: Error) => log.error({ err: err.message }, 'reaction handling failed')));
  client.on(Events.MessageReactionAdd, (reaction, user) => onReaction(community.handleReaction(reaction, user, true)));
  client.on(Events.MessageReactionRemove, (reaction, user) => onReaction(community.handleReaction(reaction, user, false)));
  client.on(Events.Error, (err) => log.error({ err: err.message }, 'discord client error'));
  if (options.registerCommands !== false) await registerSlashCommands(config);
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(token);
  } catch (err) {
    await runtime.close();
    throw new Error(`cannot log in to Discord${config.discord.api ? ` at ${config.discord.api}` : ''}: ${(err as Error).message}`, { cause: err });
  }
  await ready;
  // Replies an earlier run could not send (restart, crash, jobs finished while no bot ran) go out now.
  for (const delivery of resumeDiscordDeliveries(ctx)) track(delivery);
  const ops = config.metricsPort === undefined ? undefined : await startOpsServer(config.metricsPort, runtime.metrics.registry, async () => ({
    ok: client.isReady(), discord: client.isReady() ? 'ready' : 'not ready', queue: runtime.queue.kind, depth: await runtime.queue.depth(), rssMb: Math.round(process.memoryUsage().rss / 1048576),
  }));
  log.info({ user: client.user?.tag, guilds: client.guilds.cache.size, metricsPort: ops?.port }, 'discord bot ready');
  return {
    client,
    runtime,
    ops,
    async close() {
      await runtime.queue.close();
      await Promise.allSettled([...inFlight]);
      await community.close();
      await client.destroy();
      await ops?.close();
      await runtime.close();
    },
  };
}
