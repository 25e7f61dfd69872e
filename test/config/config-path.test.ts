// One configuration path: every variable of the README's Configuration table is read by src/config, the config
// file is strict, and what the file sets reaches the library defaults the CLI installs (setActiveConfig).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_ENV_VARS, activeConfig, loadConfig, setActiveConfig } from '../../src/config/index.js';
import {
  CHECKOUT_DATA_DIR,
  REPO_ROOT,
  defaultCacheDir,
  defaultDataDir,
  defaultModelsDir,
  defaultTrainingDataDirs,
} from '../../src/motion/paths.js';
import { llmSettingsFromEnv } from '../../src/agent/providers.js';
import { prepareFeatureCache } from '../../src/worker/train/data.js';

function configFile(body: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'charades-config-'));
  const file = join(dir, 'charades.json');
  writeFileSync(file, JSON.stringify(body));
  return file;
}

test("every variable of the README's Configuration table is a configuration setting", () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Configuration'),
    readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
  );
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  const names = rows.flatMap((row) => [...row.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));
  assert.ok(names.length >= 30, `read ${names.length} variables from the README`);
  const missing = names.filter((n) => !CONFIG_ENV_VARS.includes(n));
  assert.deepEqual(missing, [], `not read by src/config: ${missing.join(', ')}`);
});

test('an unknown key in the CHARADES_CONFIG file is refused by name, nested ones too', () => {
  const file = configFile({ concurrency: 2, motionDataDri: '/data', render: { size: 256, fsp: 30 } });
  assert.throws(
    () => loadConfig({ env: { CHARADES_CONFIG: file } }),
    (err: Error) => {
      assert.match(err.message, /unknown key "motionDataDri"/);
      assert.match(err.message, /unknown key "render\.fsp"/);
      assert.ok(err.message.includes(file), 'names the file');
      return true;
    },
  );
  assert.equal(loadConfig({ env: { CHARADES_CONFIG: configFile({ concurrency: 2 }) } }).concurrency, 2);
});

test('the settings modules used to read from the environment come from the configuration', () => {
  const config = loadConfig({
    env: {
      CHARADES_ORT_THREADS: '3',
      CHARADES_TEXT_ENCODER: 'onnx:/enc',
      CHROMIUM_PATH: '/bin/chromium',
      CHARADES_TRAIN_EVAL: 'trainer',
      CHARADES_DEBUG: '1',
      CHARADES_LOOKS: '1',
    },
  });
  assert.equal(config.looks, 1);
  assert.throws(() => loadConfig({ env: { CHARADES_LOOKS: '9' } }), /CHARADES_LOOKS/);
  assert.equal(config.ortThreads, 3);
  assert.equal(config.textEncoder, 'onnx:/enc');
  assert.equal(config.chromiumPath, '/bin/chromium');
  assert.equal(config.trainEval, 'trainer');
  assert.equal(config.debug, true);
  const defaults = loadConfig({ env: {} });
  assert.deepEqual(
    [
      defaults.ortThreads,
      defaults.textEncoder,
      defaults.executionProviders,
      defaults.trainEval,
      defaults.trainEvalLimit,
      defaults.debug,
    ],
    [1, 'use', 'cpu', 'production', 0, false],
  );
});

test('motionDataDir, cacheDir and modelsDir from the file reach the training data path once installed', () => {
  const root = mkdtempSync(join(tmpdir(), 'charades-config-data-'));
  const packs = [join(root, 'pack-a'), join(root, 'pack-b')];
  for (const p of packs) mkdirSync(p);
  const file = configFile({
    motionDataDir: packs.join(','),
    cacheDir: join(root, 'cache'),
    modelsDir: join(root, 'models'),
  });
  const config = loadConfig({ env: { CHARADES_CONFIG: file } });
  const before = activeConfig();
  setActiveConfig(config);
  try {
    assert.equal(defaultDataDir(), packs[0]);
    assert.deepEqual(defaultTrainingDataDirs(), packs);
    assert.equal(defaultCacheDir(), join(root, 'cache'));
    assert.equal(defaultModelsDir(), join(root, 'models'));
    // A job without --data builds the default features cache from the configured pack (which has no data here).
    const job = join(root, 'job');
    assert.throws(
      () => prepareFeatureCache([], job, join(root, 'cache', 'features')),
      new RegExp(`no motion data at ${packs[0]} `),
    );
  } finally {
    setActiveConfig(before);
  }
  setActiveConfig(undefined);
  assert.equal(defaultDataDir(), CHECKOUT_DATA_DIR, 'without an installed configuration the checkout defaults apply');
  setActiveConfig(before);
});

test("the agent's settings come from the installed configuration: a file's LLM server and cache reach it", () => {
  const root = mkdtempSync(join(tmpdir(), 'charades-config-agent-'));
  const file = configFile({
    openai: { baseUrl: 'http://127.0.0.1:9/v1', model: 'local' },
    cacheDir: join(root, 'cache'),
    expand: 'off',
    llm: { retries: 0 },
  });
  const before = activeConfig();
  setActiveConfig(loadConfig({ env: { CHARADES_CONFIG: file, CHARADES_PLANNER: 'offline' } }));
  try {
    const settings = llmSettingsFromEnv();
    assert.deepEqual(
      [
        settings.provider,
        settings.baseURL,
        settings.model,
        settings.cacheDir,
        settings.expand,
        settings.maxRetries,
        settings.planner,
      ],
      ['openai-compatible', 'http://127.0.0.1:9/v1', 'local', join(root, 'cache'), 'off', 0, 'offline'],
    );
  } finally {
    setActiveConfig(before);
  }
  setActiveConfig(undefined);
  assert.equal(llmSettingsFromEnv().provider, 'none', 'nothing installed: nothing configured');
  setActiveConfig(before);
});
