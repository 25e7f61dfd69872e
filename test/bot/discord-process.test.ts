// The bot as a process: a payload that makes discord.js throw while parsing it does not take it down, and
// however it ends — SIGTERM or an uncaught error — no Chromium process and no charades-chromium-* temp
// folder outlives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiscordDouble, snowflake } from '../discord-double/server.js';
import type { DiscordMessage } from '../discord-double/server.js';
import { tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url));
const alice = { id: '100000000000000001', username: 'alice' };

interface Served {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function serve(double: DiscordDouble, dataDir: string, tmp: string): Served {
  const env = {
    ...process.env,
    TMPDIR: tmp,
    DISCORD_TOKEN: 'double-token',
    DISCORD_APP_ID: double.appId,
    DISCORD_API: double.apiBase,
    CHARADES_DATA_DIR: dataDir,
    CHARADES_PLANNER: 'offline',
    CHARADES_RENDER_SIZE: '128',
    LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stderr!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, logs, exited };
}

/** Processes whose command line names a profile folder under `tmp` (Chromium and all its helpers). */
function chromiumUnder(tmp: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const state = /\) (\w)/.exec(readFileSync(`/proc/${name}/stat`, 'utf8'))?.[1];
      if (cmdline.includes(join(tmp, 'charades-chromium-')) && state !== 'Z') pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

const profilesIn = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith('charades-chromium-'));
const videoOf = (m: DiscordMessage | undefined) => m?.attachments.find((a) => a.filename.endsWith('.mp4'));

async function videoFor(double: DiscordDouble, text: string): Promise<DiscordMessage> {
  const ask = double.userMessage(alice, double.channelId, text, { mentionBot: true });
  return double.waitFor(
    () =>
      double.channelMessages(double.channelId).find((m) => m.message_reference?.message_id === ask.id && videoOf(m)),
    90_000,
    `the video for "${text}"`,
  );
}

async function running(double: DiscordDouble, served: Served): Promise<void> {
  await Promise.race([
    double.waitFor(() => served.logs.some((l) => l.msg === 'discord bot ready'), 90_000, 'the bot process to be ready'),
    served.exited.then((e) =>
      assert.fail(`the bot exited early (${e.code ?? e.signal}): ${served.logs.map((l) => l.msg).join(' | ')}`),
    ),
  ]);
}

/** Waits until the browsers of a finished process are gone (their group was killed with SIGKILL). */
async function noChromiumLeft(tmp: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (chromiumUnder(tmp).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(chromiumUnder(tmp), [], 'no Chromium process is left');
  assert.deepEqual(profilesIn(tmp), [], 'no charades-chromium-* temp folder is left');
}

/** `charades serve` against a fresh double, with its own temp folder, after a first clip (Chromium warm). */
async function servedBot(): Promise<{
  double: DiscordDouble;
  served: ReturnType<typeof serve>;
  tmp: string;
  cleanup: () => void;
}> {
  const double = await new DiscordDouble().start();
  const { dir, cleanup } = tempDir();
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const served = serve(double, join(dir, 'data'), tmp);
  try {
    await running(double, served);
    await videoFor(double, 'wave for 1 second');
  } catch (err) {
    served.child.kill('SIGKILL');
    await double.close();
    cleanup();
    throw err;
  }
  return { double, served, tmp, cleanup };
}

test(
  'the bot process survives a payload discord.js cannot parse, and SIGTERM leaves no Chromium and no temp folder',
  { timeout: 240_000 },
  async () => {
    const { double, served, tmp, cleanup } = await servedBot();
    try {
      assert.ok(chromiumUnder(tmp).length > 0, 'the render left Chromium running (warm)');
      assert.equal(profilesIn(tmp).length, 1);

      // An application-command interaction without its data: discord.js throws while building the interaction.
      double.dispatch('INTERACTION_CREATE', {
        id: snowflake(),
        application_id: double.appId,
        type: 2,
        guild_id: double.guildId,
        channel_id: double.channelId,
        token: 'broken',
        version: 1,
        member: { user: { id: alice.id, username: 'alice', discriminator: '0' }, roles: [], permissions: '0' },
      });
      await double.waitFor(
        () => served.logs.some((l) => /an error nobody handled/.test(String(l.msg))),
        10_000,
        'the logged parse error',
      );
      await videoFor(double, 'jump for 1 second');

      served.child.kill('SIGTERM');
      const exit = await served.exited;
      assert.equal(
        exit.code,
        0,
        `SIGTERM is a clean exit: ${served.logs
          .slice(-5)
          .map((l) => l.msg)
          .join(' | ')}`,
      );
      await noChromiumLeft(tmp);
    } finally {
      served.child.kill('SIGKILL');
      await double.close();
      cleanup();
    }
  },
);

test(
  'an uncaught error: the bot logs it, shuts down with exit code 1 and leaves no Chromium and no temp folder',
  { timeout: 240_000 },
  async () => {
    const { double, served, tmp, cleanup } = await servedBot();
    try {
      assert.ok(chromiumUnder(tmp).length > 0, 'Chromium is running');
      served.child.kill('SIGUSR2');
      const exit = await served.exited;
      assert.equal(
        exit.code,
        1,
        `exit ${exit.code}: ${served.logs
          .slice(-6)
          .map((l) => `${String(l.msg)} ${String(l.err ?? '')}`)
          .join(' | ')}`,
      );
      assert.ok(
        served.logs.some(
          (l) => l.msg === 'uncaught exception: shutting down' && /thrown on purpose/.test(String(l.err)),
        ),
      );
      await noChromiumLeft(tmp);
    } finally {
      served.child.kill('SIGKILL');
      await double.close();
      cleanup();
    }
  },
);
