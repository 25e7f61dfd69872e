/**
 * Where a Discord reply can go when the interaction or message it answers cannot carry it: a channel that accepts
 * messages, and a message addressed to one user that pings nobody else. Shared by live delivery (surfaces.ts)
 * and delivery after a restart (deliver.ts).
 */
import type {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  MessageMentionOptions,
  SendableChannels,
} from 'discord.js';
import type { BotContext } from './context.js';

export interface MessagePayload {
  content: string;
  files?: AttachmentBuilder[];
  components?: ActionRowBuilder<ButtonBuilder>[];
  allowedMentions?: MessageMentionOptions;
}

export async function sendableChannel(ctx: BotContext, channelId: string): Promise<SendableChannels> {
  const channel = await ctx.client.channels.fetch(channelId);
  if (!channel || !channel.isSendable()) throw new Error(`channel ${channelId} cannot receive messages`);
  return channel;
}

/** A channel message for one user: it mentions (and may ping) them and nobody else, whatever the text says. */
export function addressedTo(userId: string, payload: MessagePayload): MessagePayload {
  const content = `<@${userId}> ${payload.content}`;
  return {
    ...payload,
    content: content.length <= 2000 ? content : `${content.slice(0, 1999)}…`,
    allowedMentions: { parse: [], users: [userId] },
  };
}
