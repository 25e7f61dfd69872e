import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  InProcessQueue,
  MotionFiles,
  PermanentJobError,
  createJobMetrics,
  createRetrievalGenerator,
  createStages,
} from '../../src/jobs/index.js';
import type { GeneratorStage, JobInput, Progress, Stages } from '../../src/jobs/index.js';
import { ffprobe, tempDir, testConfig } from '../bot/helpers.js';

const retrieval = createRetrievalGenerator();
const scratch = tempDir();
// The real stages (the agent's offline planner and the three.js renderer), shared by the tests of this file.
const real = await createStages(testConfig(scratch.dir, { generator: 'retrieval' }));
after(async () => {
  await real.stages.renderer.close();
  scratch.cleanup();
});

function stages(generator: GeneratorStage = retrieval): Stages {
  return { ...real.stages, generator };
}

function job(id: string, text: string, extra: Partial<JobInput> = {}): JobInput {
  return { id, conversationId: 'c', userId: 'u', text, action: 'prompt', lastMotionIds: [], options: {}, ...extra };
}

test('jobs run plan → generate → render, report queue positions, and keep their motion files', async () => {
  const { dir, cleanup } = tempDir();
  const metrics = createJobMetrics();
  const queue = new InProcessQueue(
    { stages: stages(), dataDir: dir, render: { size: 128, fps: 20 } },
    { concurrency: 1, attempts: 1, metrics },
  );
  try {
    const seen: Record<string, Progress[]> = { a: [], b: [], c: [] };
    const runs = ['a', 'b', 'c'].map((id) => queue.submit(job(id, 'wave for 1 second'), (p) => seen[id].push(p)));
    assert.equal(await queue.depth(), 3);
    const results = await Promise.all(runs);
    assert.deepEqual(
      seen.c.filter((p) => p.stage === 'queued').map((p) => (p as { position: number }).position),
      [2, 1],
      'c waits behind b, then moves up',
    );
    assert.deepEqual(
      seen.a.map((p) => p.stage),
      ['queued', 'planning', 'generating', 'rendering'],
    );
    for (const r of results) {
      assert.equal(r.seconds, 1);
      assert.ok(existsSync(r.videoPath!));
      assert.equal(ffprobe(r.videoPath!).width, 128);
      assert.equal(new MotionFiles(dir).load(r.motionIds[0]).numFrames, 20);
    }
    assert.match(await metrics.registry.metrics(), /charades_stage_seconds_count\{stage="render"\} 3/);
  } finally {
    await queue.close();
    cleanup();
  }
});

test('a failing attempt is retried; a permanent error and the last failed attempt are not', async () => {
  const { dir, cleanup } = tempDir();
  let calls = 0;
  const flaky: GeneratorStage = {
    name: 'flaky-then-retrieval',
    generate: async (r) => {
      calls++;
      if (calls === 1) throw new Error('transient failure');
      return retrieval.generate(r);
    },
  };
  const metrics = createJobMetrics();
  const queue = new InProcessQueue(
    { stages: stages(flaky), dataDir: dir, render: { size: 128, fps: 20 } },
    { concurrency: 1, attempts: 2, backoffMs: 10, metrics },
  );
  try {
    const progress: Progress[] = [];
    const result = await queue.submit(job('r1', 'jump for 1 second'), (p) => progress.push(p));
    assert.equal(calls, 2);
    assert.ok(result.videoPath);
    assert.ok(
      progress.some((p) => 'attempt' in p && p.attempt === 2),
      'progress says which attempt runs',
    );

    await assert.rejects(
      queue.submit(job('r3', 'x', { action: 'slower' }), () => undefined),
      (err: Error) => err instanceof PermanentJobError && /nothing to slower yet/.test(err.message),
    );
    assert.match(await metrics.registry.metrics(), /charades_job_failures_total\{reason="permanent"\} 1/);
  } finally {
    await queue.close();
    cleanup();
  }
});

test('closing the queue lets the running job finish and refuses the waiting ones with a reason', async () => {
  const { dir, cleanup } = tempDir();
  const queue = new InProcessQueue(
    { stages: stages(), dataDir: dir, render: { size: 128, fps: 20 } },
    { concurrency: 1, attempts: 1 },
  );
  try {
    const running = queue.submit(job('k1', 'wave for 1 second'), () => undefined);
    const waiting = queue.submit(job('k2', 'wave for 1 second'), () => undefined);
    const refused = assert.rejects(waiting, /shutting down; your request was not started/);
    await queue.close();
    assert.ok((await running).videoPath, 'the running job finished');
    await refused;
    await assert.rejects(
      queue.submit(job('k3', 'wave'), () => undefined),
      /shutting down/,
    );
  } finally {
    cleanup();
  }
});

test('the in-process queue cannot follow a job of an earlier process: attach reports it lost', async () => {
  const { dir, cleanup } = tempDir();
  const queue = new InProcessQueue(
    { stages: stages(), dataDir: dir, render: { size: 128, fps: 20 } },
    { concurrency: 1, attempts: 1 },
  );
  try {
    await assert.rejects(
      queue.attach('earlier-job'),
      (err: Error) =>
        err.name === 'JobLostError' && /earlier-job ran inside a bot process that has stopped/.test(err.message),
    );
  } finally {
    await queue.close();
    cleanup();
  }
});
