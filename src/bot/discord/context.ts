/**
 * What every Discord handler shares: the runtime, the client, and the per-guild rules (allowed
 * channels, per-user limits, upload limit) resolved from the config and the guild's /settings.
 */
import type { Channel, Client, Guild } from 'discord.js';
import { GuildPremiumTier } from 'discord.js';
import type { Runtime } from '../runtime.js';

export interface BotContext {
  runtime: Runtime;
  client: Client;
  /** Interaction tokens live 15 minutes; past this age replies go to the channel instead. */
  tokenLifetimeMs: number;
  /** Progress edits of one message are at most this often (default 1 s: Discord rate-limits edits). */
  progressIntervalMs?: number;
}

export const UPLOAD_LIMIT_BY_TIER: Record<number, number> = {
  [GuildPremiumTier.None]: 10 * 1024 * 1024,
  [GuildPremiumTier.Tier1]: 10 * 1024 * 1024,
  [GuildPremiumTier.Tier2]: 50 * 1024 * 1024,
  [GuildPremiumTier.Tier3]: 100 * 1024 * 1024,
};

export function limitsFor(ctx: BotContext, guildId: string | null): { userQueue: number; userPerMinute: number } {
  const settings = guildId ? ctx.runtime.store.guildSettings(guildId) : {};
  const defaults = ctx.runtime.config.limits;
  return {
    userQueue: settings.userQueue ?? defaults.userQueue,
    userPerMinute: settings.userPerMinute ?? defaults.userPerMinute,
  };
}

/** The channel that allow-lists speak about: a thread counts as its parent channel. */
export function baseChannelId(channel: Channel | null, fallback: string): string {
  if (channel && 'isThread' in channel && channel.isThread()) return channel.parentId ?? channel.id;
  return channel?.id ?? fallback;
}

export function allowedChannels(ctx: BotContext, guildId: string | null): string[] {
  const settings = guildId ? ctx.runtime.store.guildSettings(guildId) : {};
  return settings.allowedChannels ?? ctx.runtime.config.discord.allowedChannels;
}

export function isChannelAllowed(ctx: BotContext, guildId: string | null, channelId: string): boolean {
  const allowed = allowedChannels(ctx, guildId);
  return allowed.length === 0 || allowed.includes(channelId);
}

export function notAllowedMessage(ctx: BotContext, guildId: string | null): string {
  return `I only act in ${allowedChannels(ctx, guildId)
    .map((c) => `<#${c}>`)
    .join(', ')} here.`;
}

/** Bytes one upload may have: what Discord said for this interaction, else the guild's boost tier, else the config. */
export function uploadLimit(ctx: BotContext, guild: Guild | null, fromInteraction?: number): number {
  if (fromInteraction && fromInteraction > 0) return fromInteraction;
  if (guild) return UPLOAD_LIMIT_BY_TIER[guild.premiumTier] ?? ctx.runtime.config.limits.uploadBytes;
  return ctx.runtime.config.limits.uploadBytes;
}
