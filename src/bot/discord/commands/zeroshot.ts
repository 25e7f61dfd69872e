/** /zeroshot submit|list|duel|report|remove — the community's zero-shot phrase pool, blinded A/B duels and the report. */
import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import { PHRASE_LIMITS } from '../../../community/index.js';
import { communityOf } from '../community.js';
import type { BotContext } from '../context.js';

export const data = new SlashCommandBuilder()
  .setName('zeroshot')
  .setDescription('Community zero-shot testing: phrases nobody trained for')
  .addSubcommand((s) =>
    s
      .setName('submit')
      .setDescription('Add a phrase to the community pool')
      .addStringOption((o) =>
        o
          .setName('phrase')
          .setDescription('An action, e.g. "juggle three balls"')
          .setRequired(true)
          .setMaxLength(PHRASE_LIMITS.maxChars),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('list')
      .setDescription('Show the pool')
      .addIntegerOption((o) => o.setName('page').setDescription('Page').setMinValue(1)),
  )
  .addSubcommand((s) =>
    s
      .setName('duel')
      .setDescription('Blind A/B: the same phrase two ways, side by side; vote for the better one')
      .addStringOption((o) =>
        o
          .setName('phrase')
          .setDescription('A phrase (added to the pool); default: one from the pool')
          .setMaxLength(PHRASE_LIMITS.maxChars),
      ),
  )
  .addSubcommand((s) =>
    s.setName('report').setDescription('Ratings, A/B win rate, charades recognition and automatic metrics'),
  )
  .addSubcommand((s) =>
    s
      .setName('remove')
      .setDescription('Remove a phrase from the pool (admins)')
      .addStringOption((o) =>
        o.setName('phrase').setDescription('The #id from /zeroshot list, or the phrase').setRequired(true),
      ),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const community = communityOf(ctx);
  const ephemeral = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral });
  const sub = interaction.options.getSubcommand();
  if (sub === 'submit')
    return void (await ephemeral(
      community.submit(interaction.user.id, interaction.guildId, interaction.options.getString('phrase', true)),
    ));
  if (sub === 'list') return void (await ephemeral(community.list(interaction.options.getInteger('page') ?? 1)));
  if (sub === 'duel') return community.duel(interaction, interaction.options.getString('phrase'));
  if (sub === 'report') return void (await interaction.reply(community.report()));
  if (sub === 'remove')
    return void (await ephemeral(community.remove(interaction, interaction.options.getString('phrase', true))));
  await ephemeral(`Unknown subcommand ${sub}.`);
}
