/** /charades start|stop|leaderboard — the bot acts a hidden phrase from the pool; people guess in the thread. */
import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import { communityOf } from '../community.js';
import type { BotContext } from '../context.js';

export const data = new SlashCommandBuilder()
  .setName('charades')
  .setDescription('Play charades with the bot: it acts, you guess')
  .addSubcommand((s) =>
    s.setName('start').setDescription('Start a round: the bot acts a hidden phrase from the community pool'),
  )
  .addSubcommand((s) => s.setName('stop').setDescription('Stop the round in this channel and reveal the answer'))
  .addSubcommand((s) => s.setName('leaderboard').setDescription('Who recognised the most rounds in this server'));

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const community = communityOf(ctx);
  const sub = interaction.options.getSubcommand();
  if (sub === 'start') return community.startGame(interaction);
  if (sub === 'stop')
    return void (await interaction.reply({
      content: await community.stopGame(interaction),
      flags: MessageFlags.Ephemeral,
    }));
  if (sub === 'leaderboard')
    return void (await interaction.reply({ content: community.leaderboard(interaction.guildId) }));
  await interaction.reply({ content: `Unknown subcommand ${sub}.`, flags: MessageFlags.Ephemeral });
}
