/**
 * Where a turn's progress and result appear: the deferred reply of an interaction (falling back to a
 * channel message once its 15-minute token is too old), or a bot message answering a user's message.
 */
import { MessageFlags } from 'discord.js';
import type { Message, RepliableInteraction, SendableChannels } from 'discord.js';
import { LimitError } from '../service.js';
import type { JobAction } from '../../jobs/index.js';
import type { BotContext } from './context.js';
import { baseChannelId, isChannelAllowed, limitsFor, notAllowedMessage, uploadLimit } from './context.js';
import { runDiscordTurn } from './deliver.js';
import type { MessagePayload, Surface } from './deliver.js';

export async function sendableChannel(ctx: BotContext, channelId: string): Promise<SendableChannels> {
  const channel = await ctx.client.channels.fetch(channelId);
  if (!channel || !channel.isSendable()) throw new Error(`channel ${channelId} cannot receive messages`);
  return channel;
}

export function interactionSurface(ctx: BotContext, interaction: RepliableInteraction): Surface {
  const deferredAt = Date.now();
  const expired = () => Date.now() - deferredAt > ctx.tokenLifetimeMs;
  let fallback: Message | undefined;
  const viaChannel = async (payload: MessagePayload): Promise<Message> => {
    const addressed = { ...payload, content: `<@${interaction.user.id}> ${payload.content}` };
    if (fallback) return fallback.edit(addressed);
    fallback = await (await sendableChannel(ctx, interaction.channelId as string)).send(addressed);
    return fallback;
  };
  const limit = uploadLimit(ctx, interaction.guild, interaction.attachmentSizeLimit);
  return {
    uploadLimit: limit,
    record: { kind: 'interaction', applicationId: interaction.applicationId, token: interaction.token, channelId: interaction.channelId as string, userId: interaction.user.id, deferredAt, uploadLimit: limit },
    progress: (text) => (expired() ? viaChannel({ content: text }) : interaction.editReply({ content: text })),
    finish: (payload) => (expired() ? viaChannel(payload) : interaction.editReply(payload)),
  };
}

export async function messageSurface(ctx: BotContext, message: Message): Promise<Surface> {
  const ack = await message.reply({ content: '⏳ On it…', allowedMentions: { repliedUser: false } });
  const limit = uploadLimit(ctx, message.guild);
  return {
    uploadLimit: limit,
    record: { kind: 'message', channelId: ack.channelId, messageId: ack.id, uploadLimit: limit },
    progress: (text) => ack.edit({ content: text }),
    finish: (payload) => ack.edit(payload),
  };
}

export interface InteractionTurn {
  text: string;
  prompt: string;
  action: JobAction;
  conversationKey: string;
  conversationId?: string;
  openThread: boolean;
  options?: { seconds?: number; samples?: 1 | 4; seed?: number };
  baseRequestId?: string;
}

/**
 * The common path of /act, /continue and the generating buttons: refuse (ephemerally) when the channel
 * is not allowed or the user is over a limit, else acknowledge at once and run the turn.
 */
export async function startFromInteraction(ctx: BotContext, interaction: RepliableInteraction, turn: InteractionTurn): Promise<void> {
  const guildId = interaction.guildId;
  if (!isChannelAllowed(ctx, guildId, baseChannelId(interaction.channel, interaction.channelId as string))) {
    await interaction.reply({ content: notAllowedMessage(ctx, guildId), flags: MessageFlags.Ephemeral });
    return;
  }
  const limits = limitsFor(ctx, guildId);
  try {
    ctx.runtime.service.checkLimits(interaction.user.id, limits);
  } catch (err) {
    if (!(err instanceof LimitError)) throw err;
    await interaction.reply({ content: err.message, flags: MessageFlags.Ephemeral });
    return;
  }
  await interaction.deferReply();
  await runDiscordTurn(ctx, interactionSurface(ctx, interaction), {
    platform: 'discord',
    conversationKey: turn.conversationKey,
    conversationId: turn.conversationId,
    userId: interaction.user.id,
    text: turn.text,
    action: turn.action,
    options: turn.options,
    baseRequestId: turn.baseRequestId,
    limits,
    prompt: turn.prompt,
    openThread: turn.openThread,
    title: turn.prompt,
  });
}

/** The conversation key for an interaction: its thread when used inside one, else a fresh key. */
export function conversationKeyFor(interaction: RepliableInteraction): { key: string; inThread: boolean } {
  const channel = interaction.channel;
  if (channel && channel.isThread()) return { key: channel.id, inThread: true };
  return { key: `interaction:${interaction.id}`, inThread: false };
}
