/**
 * Plain messages: a mention of the bot, or a reply to one of its results, works like /act; any message
 * in a thread that is a Charades conversation is a follow-up. Bots (including us) are ignored, and so
 * are channels outside the allow-list.
 */
import type { Message } from 'discord.js';
import type { BotContext } from './context.js';
import { baseChannelId, isChannelAllowed, limitsFor } from './context.js';
import { runDiscordTurn } from './deliver.js';
import { messageSurface } from './surfaces.js';

/** Removes the bot's mention so the planner sees only the request. */
export function stripMention(content: string, botId: string): string {
  return content
    .replace(new RegExp(`<@!?${botId}>`, 'g'), '')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

/** The conversation whose result was delivered as message `messageId` in `channelId`, if any. */
function conversationOfResult(ctx: BotContext, channelId: string, messageId: string): string | undefined {
  const jobId = ctx.runtime.store.jobDeliveredAs(`discord:${channelId}:${messageId}`);
  const request = jobId ? ctx.runtime.store.request(jobId) : undefined;
  return request ? ctx.runtime.store.conversationById(request.conversationId)?.id : undefined;
}

function conversationOfReply(ctx: BotContext, message: Message): string | undefined {
  const ref = message.reference;
  return ref?.messageId ? conversationOfResult(ctx, ref.channelId, ref.messageId) : undefined;
}

/**
 * Whether a thread is a Charades conversation. A thread started from a message shares that message's id,
 * so a thread on one of our results is ours even before the conversation was re-keyed to it.
 */
function threadIsConversation(ctx: BotContext, message: Message): boolean {
  const { store } = ctx.runtime;
  if (store.conversationKeyExists('discord', message.channelId)) return true;
  const parentId = message.channel.isThread() ? message.channel.parentId : null;
  const conversationId = parentId ? conversationOfResult(ctx, parentId, message.channelId) : undefined;
  if (!conversationId) return false;
  store.moveConversation(conversationId, message.channelId);
  return true;
}

export async function handleMessage(ctx: BotContext, message: Message): Promise<void> {
  if (message.author.bot || message.webhookId || !message.inGuild()) return;
  const botId = ctx.client.user?.id;
  if (!botId) return;
  const mentioned = message.mentions.users.has(botId);
  const inThread = message.channel.isThread();
  const threadConversation = inThread && threadIsConversation(ctx, message);
  const replyConversation = conversationOfReply(ctx, message);
  if (!mentioned && !threadConversation && !replyConversation) return;
  if (!isChannelAllowed(ctx, message.guildId, baseChannelId(message.channel, message.channelId))) return;
  const text = stripMention(message.content, botId);
  if (!text) {
    await message.reply({
      content: 'Tell me what the person should do, e.g. "act like a dog".',
      allowedMentions: { parse: [], repliedUser: false },
    });
    return;
  }
  const key = inThread ? message.channelId : `message:${message.id}`;
  await runDiscordTurn(ctx, await messageSurface(ctx, message), {
    platform: 'discord',
    conversationKey: key,
    conversationId: inThread ? undefined : replyConversation,
    userId: message.author.id,
    text,
    action: 'prompt',
    limits: limitsFor(ctx, message.guildId),
    prompt: text,
    openThread: !inThread && !replyConversation,
    title: text,
  });
}
