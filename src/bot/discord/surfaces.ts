/**
 * Where a turn's progress and result appear: the deferred reply of an interaction (falling back to a
 * channel message once its 15-minute token is too old), or a bot message answering a user's message.
 */
import { MessageFlags } from 'discord.js';
import type { Message, RepliableInteraction } from 'discord.js';
import { LimitError } from '../service.js';
import type { JobAction } from '../../jobs/index.js';
import type { BotContext } from './context.js';
import { baseChannelId, isChannelAllowed, limitsFor, notAllowedMessage, uploadLimit } from './context.js';
import { addressedTo, sendableChannel } from './channels.js';
import { runDiscordTurn } from './deliver.js';
import type { Surface } from './deliver.js';
import type { MessagePayload } from './channels.js';
import { classifyRefusal } from './refusals.js';

export function interactionSurface(ctx: BotContext, interaction: RepliableInteraction): Surface {
  const deferredAt = Date.now();
  let tokenUsable = () => Date.now() - deferredAt <= ctx.tokenLifetimeMs;
  let fallback: Message | undefined;
  const viaChannel = async (payload: MessagePayload, fresh = false): Promise<Message> => {
    const addressed = addressedTo(interaction.user.id, payload);
    if (fallback && !fresh) return (fallback = await fallback.edit(addressed));
    fallback = await (await sendableChannel(ctx, interaction.channelId as string)).send(addressed);
    return fallback;
  };
  const edit = (payload: MessagePayload) => (tokenUsable() ? interaction.editReply(payload) : viaChannel(payload));
  // A follow-up survives a deleted reply; a refused token leaves only the channel.
  const post = async (payload: MessagePayload): Promise<Message> => {
    if (tokenUsable()) {
      try {
        return await interaction.followUp(payload);
      } catch (err) {
        if (classifyRefusal(err).kind !== 'token') throw err;
        tokenUsable = () => false;
      }
    }
    return viaChannel(payload, true);
  };
  const limit = uploadLimit(ctx, interaction.guild, interaction.attachmentSizeLimit);
  return {
    uploadLimit: limit,
    record: {
      kind: 'interaction',
      applicationId: interaction.applicationId,
      token: interaction.token,
      channelId: interaction.channelId as string,
      userId: interaction.user.id,
      deferredAt,
      uploadLimit: limit,
    },
    progress: (text) => edit({ content: text }),
    finish: edit,
    post,
  };
}

/**
 * The bot's first answer to a message: a reply, or — where it may not read the message history that a
 * reply needs — a plain channel message naming the user. Nothing the user wrote can ping anyone.
 */
async function acknowledge(ctx: BotContext, message: Message): Promise<Message> {
  const content = '⏳ On it…';
  try {
    return await message.reply({ content, allowedMentions: { parse: [], repliedUser: false } });
  } catch (err) {
    if (classifyRefusal(err).kind !== 'permission') throw err;
    ctx.runtime.logger.warn(
      { channelId: message.channelId, err: (err as Error).message },
      'cannot reply here (Read Message History?); answering with a channel message',
    );
    return (await sendableChannel(ctx, message.channelId)).send(addressedTo(message.author.id, { content }));
  }
}

export async function messageSurface(ctx: BotContext, message: Message): Promise<Surface> {
  let current = await acknowledge(ctx, message);
  const limit = uploadLimit(ctx, message.guild);
  const post = async (payload: MessagePayload): Promise<Message> => {
    const channel = await sendableChannel(ctx, message.channelId);
    // A new message replaces an answer that was lost, so it pings the user it answers (and only them).
    current = await channel.send({
      ...payload,
      reply: { messageReference: message.id, failIfNotExists: false },
      allowedMentions: { parse: [], repliedUser: true },
    });
    return current;
  };
  return {
    uploadLimit: limit,
    record: { kind: 'message', channelId: current.channelId, messageId: current.id, uploadLimit: limit },
    progress: (text) => current.edit({ content: text }),
    finish: (payload) => current.edit(payload),
    post,
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
export async function startFromInteraction(
  ctx: BotContext,
  interaction: RepliableInteraction,
  turn: InteractionTurn,
): Promise<void> {
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
