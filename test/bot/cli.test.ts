import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createRuntime, runChat } from '../../src/bot/index.js';
import { ffprobe, tempDir, testConfig } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/charades.js', import.meta.url));

function charades(args: string[], dataDir: string) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CHARADES_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    timeout: 120_000,
  });
}

test('charades "PROMPT" -o out.mp4 writes a playable MP4 and prints its path', () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'dog.mp4');
    const r = charades(['make a person act like a dog', '-o', out, '--seconds', '3'], join(dir, 'data'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    assert.match(r.stderr, /generating/);
    const probe = ffprobe(out);
    assert.equal(probe.codec, 'h264');
    assert.ok(Math.abs(probe.duration - 3) < 0.3, `3 s asked, got ${probe.duration}`);
  } finally {
    cleanup();
  }
});

test('bad CLI input gets one clear line and exit status 1', () => {
  const { dir, cleanup } = tempDir();
  try {
    const gif = charades(['wave', '-o', join(dir, 'x.gif')], dir);
    assert.equal(gif.status, 1);
    assert.match(gif.stderr, /^charades: --out must name an \.mp4 file, got ".*x\.gif"$/m);
    assert.doesNotMatch(gif.stderr, /\n\s+at /, 'no stack trace');
    const samples = charades(['wave', '--samples', '3'], dir);
    assert.notEqual(samples.status, 0);
    assert.match(samples.stderr, /--samples must be 1 or 4/);
    const seconds = charades(['wave', '--seconds', 'long'], dir);
    assert.match(seconds.stderr, /--seconds must be a number between 0\.5 and 30, got "long"/);
  } finally {
    cleanup();
  }
});

test('charades chat keeps the conversation: "slower" makes a longer clip, and it survives a restart', async () => {
  const { dir, cleanup } = tempDir();
  const config = testConfig(join(dir, 'data'));
  const outDir = join(dir, 'out');
  try {
    let rt = await createRuntime(config);
    const output = new PassThrough();
    let printed = '';
    output.on('data', (d: Buffer) => (printed += d.toString()));
    const turns = await runChat(rt, {
      session: 's1',
      outDir,
      input: Readable.from(['make a person wave for 2 seconds\n', '\n', 'slower\n', 'exit\n', 'never read\n']),
      output,
    });
    await rt.close();
    assert.equal(turns.length, 2);
    const [first, second] = turns.map((t) => ffprobe(t.path!).duration);
    assert.ok(second > first + 0.5, `slower is longer: ${second} vs ${first}`);
    assert.ok(printed.includes(turns[1].path!), 'each turn prints its MP4 path');

    rt = await createRuntime(config);
    const after = await runChat(rt, {
      session: 's1',
      outDir,
      input: Readable.from(['faster\n']),
      output: new PassThrough(),
    });
    await rt.close();
    assert.match(after[0].path!, /s1-003\.mp4$/, 'numbering continues after the restart');
    const third = ffprobe(after[0].path!).duration;
    assert.ok(third < second - 0.5, `faster after a restart edits the stored request: ${third} vs ${second}`);
  } finally {
    cleanup();
  }
});

test('chat refuses a bad session name', async () => {
  const { dir, cleanup } = tempDir();
  const rt = await createRuntime(testConfig(dir));
  try {
    await assert.rejects(
      runChat(rt, { session: '../etc', outDir: dir, input: Readable.from([]) }),
      /--session must be letters, digits/,
    );
  } finally {
    await rt.close();
    cleanup();
  }
});

test('the default prompt action does not shadow subcommands or their options', () => {
  const { dir, cleanup } = tempDir();
  try {
    const help = charades(['help', 'serve'], dir);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: charades serve/);
    const worker = charades(['worker'], dir);
    assert.equal(worker.status, 1);
    assert.match(worker.stderr, /^charades: charades worker needs REDIS_URL/m);
  } finally {
    cleanup();
  }
});
