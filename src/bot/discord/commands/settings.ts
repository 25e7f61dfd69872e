/** /settings — per-guild allowed channels and per-user limits (Manage Server permission required). */
import { ChannelType, MessageFlags, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import type { GuildSettings } from '../../store.js';
import type { BotContext } from '../context.js';
import { allowedChannels, limitsFor } from '../context.js';

export const data = new SlashCommandBuilder()
  .setName('settings')
  .setDescription('Charades settings for this server (admins)')
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .addSubcommand((s) => s.setName('show').setDescription('Show the current settings'))
  .addSubcommand((s) =>
    s
      .setName('allow')
      .setDescription('Allow Charades in a channel (once any channel is allowed, only those are)')
      .addChannelOption((o) =>
        o.setName('channel').setDescription('The channel').setRequired(true).addChannelTypes(ChannelType.GuildText),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('disallow')
      .setDescription('Remove a channel from the allow-list')
      .addChannelOption((o) =>
        o.setName('channel').setDescription('The channel').setRequired(true).addChannelTypes(ChannelType.GuildText),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('limits')
      .setDescription('Per-user limits')
      .addIntegerOption((o) =>
        o.setName('queue').setDescription('Requests one user may have queued at once').setMinValue(1).setMaxValue(20),
      )
      .addIntegerOption((o) =>
        o
          .setName('per_minute')
          .setDescription('Requests one user may start per minute')
          .setMinValue(1)
          .setMaxValue(120),
      ),
  );

function describe(ctx: BotContext, guildId: string): string {
  const allowed = allowedChannels(ctx, guildId);
  const limits = limitsFor(ctx, guildId);
  return `Channels: ${allowed.length ? allowed.map((c) => `<#${c}>`).join(', ') : 'all'} · per user: ${limits.userQueue} queued, ${limits.userPerMinute}/minute`;
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const reply = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral });
  const guildId = interaction.guildId;
  if (!guildId) return void (await reply('Settings belong to a server; use this command in one.'));
  if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild))
    return void (await reply('Only members with the Manage Server permission can change Charades settings.'));
  const store = ctx.runtime.store;
  const current: GuildSettings = store.guildSettings(guildId);
  const sub = interaction.options.getSubcommand();
  if (sub === 'allow' || sub === 'disallow') {
    const channelId = interaction.options.getChannel('channel', true).id;
    const list = new Set(current.allowedChannels ?? ctx.runtime.config.discord.allowedChannels);
    if (sub === 'allow') list.add(channelId);
    else list.delete(channelId);
    store.setGuildSettings(guildId, { ...current, allowedChannels: [...list] });
  } else if (sub === 'limits') {
    const queue = interaction.options.getInteger('queue');
    const perMinute = interaction.options.getInteger('per_minute');
    if (queue === null && perMinute === null) return void (await reply('Give `queue`, `per_minute` or both.'));
    if (queue !== null && !(queue >= 1 && queue <= 20))
      return void (await reply(`\`queue\` must be 1–20 (got ${queue}).`));
    if (perMinute !== null && !(perMinute >= 1 && perMinute <= 120))
      return void (await reply(`\`per_minute\` must be 1–120 (got ${perMinute}).`));
    store.setGuildSettings(guildId, {
      ...current,
      ...(queue !== null ? { userQueue: queue } : {}),
      ...(perMinute !== null ? { userPerMinute: perMinute } : {}),
    });
  }
  await reply(describe(ctx, guildId));
}
