/** /continue prompt — extend the conversation's last clip with a new action that starts where it ended. */
import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import { LIMITS } from '../../../motion/index.js';
import type { BotContext } from '../context.js';
import { startFromInteraction } from '../surfaces.js';

export const data = new SlashCommandBuilder()
  .setName('continue')
  .setDescription('Continue your last clip with a new action')
  .addStringOption((o) =>
    o
      .setName('prompt')
      .setDescription('What happens next? e.g. "then jump"')
      .setRequired(true)
      .setMaxLength(LIMITS.maxTextLength),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const prompt = interaction.options.getString('prompt', true).trim();
  if (!prompt) {
    await interaction.reply({ content: '`prompt` is empty: say what happens next.', flags: MessageFlags.Ephemeral });
    return;
  }
  const { store } = ctx.runtime;
  const channel = interaction.channel;
  const inThread = Boolean(channel?.isThread());
  const here = inThread ? store.conversationByKey('discord', interaction.channelId as string) : undefined;
  const conversation = here?.lastRequestId ? here : store.latestConversation('discord', interaction.user.id);
  if (!conversation?.lastRequestId) {
    await interaction.reply({
      content: 'There is nothing to continue yet: make a clip with /act first.',
      flags: MessageFlags.Ephemeral,
    });
    return;
  }
  await startFromInteraction(ctx, interaction, {
    text: prompt,
    prompt: `continue: ${prompt}`,
    action: 'continue',
    conversationKey: conversation.key,
    conversationId: conversation.id,
    openThread: false,
  });
}
