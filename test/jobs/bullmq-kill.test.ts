import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '../../src/bot/index.js';
import type { Progress } from '../../src/jobs/index.js';
import { ffprobe, tempDir, testConfig } from '../bot/helpers.js';
import { startRedis } from './redis.js';

const WORKER = fileURLToPath(new URL('./fixtures/slow-worker.ts', import.meta.url));

interface WorkerProc {
  child: ChildProcess;
  events: { event: string; jobId?: string }[];
  ready: Promise<void>;
}

function startWorker(env: Record<string, string>): WorkerProc {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const events: WorkerProc['events'] = [];
  let buffered = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const j = JSON.parse(line) as { msg: string; event?: string; jobId?: string };
          if (j.msg === 'worker ready') resolve();
          if (j.event) events.push({ event: j.event, jobId: j.jobId });
        } catch {
          // non-JSON output (a crash) is kept for the error below
        }
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`worker exited early (${code ?? signal}): ${buffered}`)));
  });
  return { child, events, ready };
}

test(
  'BullMQ: two workers, the one holding the job is killed with SIGKILL, the other finishes it, and the user gets exactly one reply',
  { timeout: 120_000 },
  async () => {
    const redis = await startRedis();
    const { dir, cleanup } = tempDir();
    const env = {
      REDIS_URL: redis.url,
      CHARADES_DATA_DIR: dir,
      CHARADES_JOB_LOCK_MS: '1500',
      CHARADES_PLANNER: 'offline',
      CHARADES_RENDER_SIZE: '128',
      LOG_LEVEL: 'info',
      HOLD_MS: '2500',
      CHARADES_QUEUE: 'killtest',
    };
    const workers = [startWorker(env), startWorker(env)];
    const rt = await createRuntime(testConfig(dir, { redisUrl: redis.url, jobLockMs: 1500, queueName: 'killtest' }));
    try {
      assert.equal(rt.queue.kind, 'bullmq');
      await Promise.all(workers.map((w) => w.ready));
      const progress: Progress[] = [];
      const started = rt.service.start(
        {
          platform: 'test',
          conversationKey: 'kill',
          userId: 'u1',
          text: 'make a person wave for 2 seconds',
          limits: { userQueue: 5, userPerMinute: 50 },
        },
        (p) => progress.push(p),
      );

      const holder = await new Promise<WorkerProc>((resolve, reject) => {
        const deadline = Date.now() + 30_000;
        const poll = setInterval(() => {
          const w = workers.find((x) => x.events.some((e) => e.event === 'active' && e.jobId === started.jobId));
          if (w) {
            clearInterval(poll);
            resolve(w);
          } else if (Date.now() > deadline) {
            clearInterval(poll);
            reject(new Error('no worker took the job'));
          }
        }, 50);
      });
      holder.child.kill('SIGKILL');
      const survivor = workers.find((w) => w !== holder)!;

      const replies: string[] = [];
      const deliver = (jobId: string) => {
        if (rt.service.claimDelivery(jobId, 'test')) replies.push(jobId);
      };
      const { result } = await started.done;
      deliver(result.jobId);
      deliver(result.jobId); // a duplicate completion must not produce a second reply
      assert.deepEqual(replies, [started.jobId]);
      const survivorCompleted = async () => {
        for (
          let i = 0;
          i < 100 && !survivor.events.some((e) => e.event === 'completed' && e.jobId === started.jobId);
          i++
        )
          await new Promise((r) => setTimeout(r, 50));
        return survivor.events.some((e) => e.event === 'completed' && e.jobId === started.jobId);
      };
      assert.ok(await survivorCompleted(), 'the surviving worker completed the job');
      assert.ok(
        survivor.events.some((e) => e.event === 'active' && e.jobId === started.jobId),
        'the survivor took the job over',
      );
      assert.ok(progress.some((p) => p.stage === 'queued'));
      assert.ok(progress.some((p) => p.stage === 'rendering'));
      const probe = ffprobe(result.videoPath!);
      assert.ok(probe.duration >= 1.5 && probe.duration <= 2.5, `a 2 s clip, got ${probe.duration}`);
      assert.equal(rt.store.request(started.jobId)?.status, 'done');
    } finally {
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
      await Promise.all(
        workers.map((w) =>
          w.child.exitCode !== null || w.child.signalCode !== null
            ? undefined
            : new Promise((r) => w.child.once('exit', r)),
        ),
      );
      await rt.close();
      await redis.stop();
      cleanup();
    }
  },
);
