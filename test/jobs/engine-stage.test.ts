import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MotionFiles, createEngineGenerator } from '../../src/jobs/index.js';
import { createEngine } from '../../src/motion/engine/index.js';
import { parseMotionRequest } from '../../src/motion/index.js';
import { tempDir } from '../bot/helpers.js';

const TINY = fileURLToPath(new URL('../fixtures/tiny-model', import.meta.url));

test(
  'the engine stage generates with the LIVE model, resolves stored motion ids, and hot-swaps when LIVE moves',
  { timeout: 120_000 },
  async () => {
    assert.ok(
      existsSync(join(TINY, 'manifest.json')),
      `the tiny model fixture is missing at ${TINY} (python -m trainer.fixtures builds it)`,
    );
    const { dir, cleanup } = tempDir();
    const models = join(dir, 'models');
    cpSync(TINY, join(models, 'v1'), { recursive: true });
    cpSync(TINY, join(models, 'v2'), { recursive: true });
    writeFileSync(join(models, 'LIVE'), 'v1\n');
    const swaps: unknown[] = [];
    const generator = await createEngineGenerator({
      createEngine,
      modelsDir: models,
      dataDir: join(dir, 'data'),
      motionDataDir: join(dir, 'no-pose-data'),
      onSwap: (e) => swaps.push(e),
    });
    try {
      assert.equal(generator.version(), 'v1');
      const [first] = await generator.generate(
        parseMotionRequest({ segments: [{ text: 'a person walks forward', seconds: 2 }], seed: 1 }),
      );
      assert.equal(first.numFrames, 40);
      new MotionFiles(join(dir, 'data')).save('job-a-0', first);
      const [next] = await generator.generate(
        parseMotionRequest({
          segments: [{ text: 'a person jumps', seconds: 1, control: { continueFrom: { id: 'job-a-0' } } }],
          seed: 2,
        }),
      );
      assert.ok(next.numFrames >= 20, `continuing from a stored motion works (${next.numFrames} frames)`);
      await assert.rejects(
        generator.generate(
          parseMotionRequest({ segments: [{ text: 'wave', seconds: 1, control: { continueFrom: { id: 'gone-0' } } }] }),
        ),
        /motion gone-0 is not in/,
      );

      writeFileSync(join(models, 'LIVE'), 'v2\n');
      for (let i = 0; i < 100 && swaps.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(swaps, [{ from: 'v1', to: 'v2' }]);
      assert.equal(generator.version(), 'v2');
    } finally {
      await generator.close();
      cleanup();
    }
  },
);
