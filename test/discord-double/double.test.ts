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
      await cmd.editReply({
        content: `got ${cmd.options.getString('prompt')}`,
        files: [new AttachmentBuilder(Buffer.from('hello'), { name: 'a.txt' })],
      });
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
    assert.ok(
      double.requests.some(
        (r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original') && r.files.length === 1,
      ),
    );
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

test("the double refuses matching requests with Discord's status and code, as many times as asked, until lifted", async () => {
  const double = await new DiscordDouble().start();
  try {
    const lift = double.refuse({
      method: 'POST',
      path: /\/channels\/\d+\/messages$/,
      status: 403,
      code: 50013,
      message: 'Missing Permissions',
      times: 2,
    });
    const post = () =>
      fetch(`${double.apiBase}/v10/channels/${double.channelId}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'hi' }),
      });
    const first = await post();
    assert.equal(first.status, 403);
    assert.deepEqual(await first.json(), { message: 'Missing Permissions', code: 50013 });
    assert.equal((await post()).status, 403);
    assert.equal((await post()).status, 200, 'refused twice, then served');
    lift();
    const kept = double.refuse({ method: 'POST', status: 500, code: 0, message: 'boom' });
    assert.equal((await post()).status, 500);
    kept();
    const sent = (await (await post()).json()) as { id: string };
    double.deleteMessage(sent.id);
    const edit = await fetch(`${double.apiBase}/v10/channels/${double.channelId}/messages/${sent.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'x' }),
    });
    assert.equal(edit.status, 404);
    assert.equal(((await edit.json()) as { code: number }).code, 10008);
  } finally {
    await double.close();
  }
});
