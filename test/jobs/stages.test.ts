import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRetrievalGenerator, createStages, hasLiveModel } from '../../src/jobs/index.js';
import { parseMotionRequest } from '../../src/motion/index.js';
import { tempDir, testConfig } from '../bot/helpers.js';

test('stage choice says what runs and why; asking for a missing engine is a clear error', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const models = join(dir, 'models');
    mkdirSync(models);
    assert.equal(hasLiveModel(models), false);
    const auto = await createStages(testConfig(dir, { modelsDir: models }));
    assert.equal(auto.stages.generator.name, 'retrieval');
    assert.ok(
      auto.notes.some((n) => /^generator: dataset retrieval \(no LIVE model version in .*models\)$/.test(n)),
      auto.notes.join('; '),
    );
    assert.ok(auto.notes.some((n) => n.startsWith('planner: agent:offline')));
    await auto.stages.renderer.close();
    await assert.rejects(
      createStages(testConfig(dir, { modelsDir: models, generator: 'engine' })),
      /config generator=engine, but no LIVE model version in .*models/,
    );
  } finally {
    cleanup();
  }
});

test('retrieval picks clips whose labels match, honours samples, seconds and speed, and is deterministic per seed', async () => {
  const gen = createRetrievalGenerator();
  const top = gen.index().rank('a person walks forward', 3);
  assert.ok(
    top[0].record.action_labels.some((l) => /walk/.test(l)),
    `top clip labels: ${top[0].record.action_labels.join(', ')}`,
  );
  const request = parseMotionRequest({
    segments: [
      { text: 'walk', seconds: 2 },
      { text: 'jump', seconds: 1 },
    ],
    samples: 4,
    seed: 5,
    speed: 0.5,
  });
  const motions = await gen.generate(request);
  assert.equal(motions.length, 4);
  assert.equal(motions[0].numFrames, 120, '(2 s + 1 s) at half speed = 6 s = 120 frames');
  assert.deepEqual(
    motions[0].segments.map((s) => [s.text, s.start, s.end]),
    [
      ['walk', 0, 80],
      ['jump', 80, 120],
    ],
  );
  const again = await gen.generate(request);
  assert.deepEqual(
    Array.from(again[0].joints.slice(0, 66)),
    Array.from(motions[0].joints.slice(0, 66)),
    'same seed, same clip',
  );
  assert.match(String(motions[0].provenance.source), /^retrieval:/);
});
