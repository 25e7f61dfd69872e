import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, requireDiscord } from '../../src/config/index.js';
import { tempDir } from './helpers.js';

test('defaults load with no environment and no file', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.concurrency, 1);
  assert.equal(c.redisUrl, undefined);
  assert.deepEqual(c.discord.allowedChannels, []);
  assert.equal(c.render.size, 512);
});

test('environment wins over the file, and lists are comma separated', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'charades.json');
    writeFileSync(
      file,
      JSON.stringify({ concurrency: 3, limits: { userQueue: 5 }, discord: { allowedChannels: ['1'] } }),
    );
    const c = loadConfig({
      env: { CHARADES_CONCURRENCY: '2', DISCORD_ALLOWED_CHANNELS: '10, 20', REDIS_URL: 'redis://127.0.0.1:6380' },
      file,
    });
    assert.equal(c.concurrency, 2);
    assert.equal(c.limits.userQueue, 5);
    assert.equal(c.limits.userPerMinute, 6, 'untouched nested defaults survive the merge');
    assert.deepEqual(c.discord.allowedChannels, ['10', '20']);
    assert.equal(c.redisUrl, 'redis://127.0.0.1:6380');
  } finally {
    cleanup();
  }
});

test('every bad value is reported at once, naming where it came from', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ render: { size: 3 } }));
    assert.throws(
      () =>
        loadConfig({
          env: { CHARADES_CONCURRENCY: 'lots', REDIS_URL: 'http://x', DISCORD_ALLOWED_CHANNELS: '12,general' },
          file,
        }),
      (err: Error) => {
        assert.match(err.message, /env CHARADES_CONCURRENCY = "lots"/);
        assert.match(err.message, /env REDIS_URL = "http:\/\/x": expected a redis:\/\/ or rediss:\/\/ URL/);
        assert.match(err.message, /env DISCORD_ALLOWED_CHANNELS = .*expected numeric channel ids/);
        assert.match(err.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: render\\.size = 3`));
        return true;
      },
    );
  } finally {
    cleanup();
  }
});

test('a missing or broken config file is a clear error', () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.throws(
      () => loadConfig({ env: {}, file: join(dir, 'nope.json') }),
      /config file .*nope\.json does not exist/,
    );
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ not json');
    assert.throws(() => loadConfig({ env: {}, file: broken }), /broken\.json is not valid JSON/);
    writeFileSync(broken, '[1, 2]');
    assert.throws(() => loadConfig({ env: {}, file: broken }), /must hold a JSON object/);
  } finally {
    cleanup();
  }
});

test('serve names the missing Discord variables', () => {
  assert.throws(() => requireDiscord(loadConfig({ env: {} })), /DISCORD_TOKEN and DISCORD_APP_ID/);
  assert.throws(() => requireDiscord(loadConfig({ env: { DISCORD_TOKEN: 't' } })), /needs DISCORD_APP_ID/);
  assert.deepEqual(requireDiscord(loadConfig({ env: { DISCORD_TOKEN: 't', DISCORD_APP_ID: '42' } })), {
    token: 't',
    appId: '42',
  });
});
