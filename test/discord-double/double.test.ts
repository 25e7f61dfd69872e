import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttachmentBuilder, Client, Events, GatewayIntentBits } from 'discord.js';
import type { ChatInputCommandInteraction } from 'discord.js';
import { DiscordDouble } from './server.js';

test('an unmodified discord.js Client logs in, defers, edits with a multipart upload and starts a thread', async () => {
  const double = await new DiscordDouble().start();
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: double.apiBase } });
  try {
    const ready = new Promise<void>((r) => client.once(Events.ClientReady, () => r()));
    await client.login('test-token');
    await ready;
    assert.equal(client.user?.id, double.appId);
    assert.ok(client.guilds.cache.has(double.guildId), 'GUILD_CREATE populated the guild cache');
    assert.equal(double.identify?.token, 'test-token');

    client.on(Events.InteractionCreate, async (i) => {
      if (!i.isChatInputCommand()) return;
      const cmd = i as ChatInputCommandInteraction;
      await cmd.deferReply();
      await cmd.editReply({ content: `got ${cmd.options.getString('prompt')}`, files: [new AttachmentBuilder(Buffer.from('hello'), { name: 'a.txt' })] });
      const msg = await cmd.fetchReply();
      await msg.startThread({ name: 'conversation' });
    });
    const user = { id: '111', username: 'alice' };
    const interaction = double.slashCommand(user, 'act', { prompt: 'wave' });
    await double.waitFor(() => double.threads.size > 0, 10_000, 'thread');
    assert.equal(interaction.callbacks[0].type, 5);
    assert.equal(interaction.original?.content, 'got wave');
    assert.equal(interaction.original?.attachments[0].filename, 'a.txt');
    assert.equal(interaction.original?.attachments[0].data.toString(), 'hello');
    assert.ok(double.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original') && r.files.length === 1));
  } finally {
    await client.destroy();
    await double.close();
  }
});

test('the double answers unknown routes with a 404 that names them', async () => {
  const double = await new DiscordDouble().start();
  try {
    const res = await fetch(`${double.apiBase}/v10/guilds/1/bans`);
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { message: string }).message, /does not implement GET \/guilds\/1\/bans/);
  } finally {
    await double.close();
  }
});
