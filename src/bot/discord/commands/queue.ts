/** /queue — how busy the bot is and how many of your requests are waiting. */
import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { limitsFor } from '../context.js';

export const data = new SlashCommandBuilder().setName('queue').setDescription('Show the queue and your requests in it');

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const depth = await ctx.runtime.queue.depth();
  const mine = ctx.runtime.store.activeRequests(interaction.user.id);
  const limits = limitsFor(ctx, interaction.guildId);
  await interaction.reply({
    content: `Queue: ${depth} job${depth === 1 ? '' : 's'} waiting or running (${ctx.runtime.queue.kind}). Yours: ${mine} of ${limits.userQueue} allowed; at most ${limits.userPerMinute} per minute.`,
    flags: MessageFlags.Ephemeral,
  });
}
