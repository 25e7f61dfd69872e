/** /act prompt [seconds] [samples] [seed] — make the person act something out. */
import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import { LIMITS } from '../../../motion/index.js';
import type { BotContext } from '../context.js';
import { conversationKeyFor, startFromInteraction } from '../surfaces.js';

export const data = new SlashCommandBuilder()
  .setName('act')
  .setDescription('Make the 3D person act something out')
  .addStringOption((o) =>
    o
      .setName('prompt')
      .setDescription('What should the person do? e.g. "act like a dog"')
      .setRequired(true)
      .setMaxLength(LIMITS.maxTextLength),
  )
  .addNumberOption((o) =>
    o
      .setName('seconds')
      .setDescription('Clip length in seconds')
      .setMinValue(LIMITS.minSegmentSeconds)
      .setMaxValue(LIMITS.maxRequestSeconds),
  )
  .addIntegerOption((o) =>
    o
      .setName('samples')
      .setDescription('1 clip, or 4 variations in a 2×2 grid')
      .addChoices({ name: '1', value: 1 }, { name: '4 (grid)', value: 4 }),
  )
  .addIntegerOption((o) =>
    o
      .setName('seed')
      .setDescription('Random seed (same seed, same clip)')
      .setMinValue(0)
      .setMaxValue(2 ** 31 - 1),
  );

/** Discord enforces these ranges for real clients; checking again keeps hand-made payloads from reaching the queue. */
export function validateActOptions(
  prompt: string,
  seconds: number | null,
  samples: number | null,
  seed: number | null,
): string | undefined {
  if (!prompt.trim()) return '`prompt` is empty: say what the person should do, e.g. "act like a dog".';
  if (prompt.length > LIMITS.maxTextLength)
    return `\`prompt\` is ${prompt.length} characters; the limit is ${LIMITS.maxTextLength}.`;
  if (seconds !== null && !(seconds >= LIMITS.minSegmentSeconds && seconds <= LIMITS.maxRequestSeconds))
    return `\`seconds\` must be between ${LIMITS.minSegmentSeconds} and ${LIMITS.maxRequestSeconds} (got ${seconds}).`;
  if (samples !== null && samples !== 1 && samples !== 4) return `\`samples\` must be 1 or 4 (got ${samples}).`;
  if (seed !== null && !(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31))
    return `\`seed\` must be a whole number from 0 to ${2 ** 31 - 1} (got ${seed}).`;
  return undefined;
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const prompt = interaction.options.getString('prompt', true);
  const seconds = interaction.options.getNumber('seconds');
  const samples = interaction.options.getInteger('samples');
  const seed = interaction.options.getInteger('seed');
  const problem = validateActOptions(prompt, seconds, samples, seed);
  if (problem) {
    await interaction.reply({ content: problem, flags: MessageFlags.Ephemeral });
    return;
  }
  const { key, inThread } = conversationKeyFor(interaction);
  await startFromInteraction(ctx, interaction, {
    text: prompt,
    prompt,
    action: 'prompt',
    conversationKey: key,
    openThread: !inThread,
    options: {
      seconds: seconds ?? undefined,
      samples: (samples ?? undefined) as 1 | 4 | undefined,
      seed: seed ?? undefined,
    },
  });
}
