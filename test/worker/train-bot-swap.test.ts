// Hot swap under load in a running bot: the real runtime of src/bot in embedded mode (engine generator following
// models/LIVE by file watch, Chromium renderer, SQLite store) serves requests in a loop while a training job publishes
// a new version. The fixture trainer exports a copy of the committed model under the job's version name, so the bot
// really loads and runs what was published. Then a corrupt version is pointed at directly: the bot refuses to load
// it and keeps serving the version it has.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../../src/bot/runtime.js';
import { MotionFiles } from '../../src/jobs/index.js';
import { liveVersion, liveVersionDir } from '../../src/motion/registry.js';
import { defaultDataDir, defaultModelsDir } from '../../src/motion/paths.js';
import { TrainingRunner } from '../../src/worker/train/index.js';
import type { TrainingJob } from '../../src/worker/train/index.js';
import { testConfig } from '../bot/helpers.js';
import {
  FAKE_TRAINER,
  PYTHON,
  editManifest,
  evalMetrics,
  registryWithCopy,
  writeFakeTrainerInputs,
} from '../fixtures/train-worker/models.js';

const committed = liveVersionDir(defaultModelsDir());
const skip =
  (committed === null || !existsSync(join(defaultDataDir(), 'index.jsonl'))) && 'no committed model or shared data';
const root = mkdtempSync(join(tmpdir(), 'charades-train-swap-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Served {
  client: number;
  submittedAt: number;
  generatingAt?: number;
  finishedAt?: number;
  version?: string;
  error?: string;
}

test(
  'a running bot serves requests while a training job publishes: none fails, in-flight ones finish on the old version, later ones on the new',
  { skip },
  async () => {
    const registry = await registryWithCopy(committed!, root, 'base');
    const config = testConfig(join(root, 'bot'), { modelsDir: registry, generator: 'engine' });
    const rt = await createRuntime(config);
    const motions = new MotionFiles(config.dataDir);
    const served: Served[] = [];
    let stop = false;
    const client = async (c: number) => {
      for (let n = 0; !stop; n++) {
        const rec: Served = { client: c, submittedAt: performance.now() };
        served.push(rec);
        try {
          const { done } = rt.service.start(
            {
              platform: 'cli',
              conversationKey: `load-${c}-${n}`,
              userId: `user-${c}`,
              text: 'a person waves',
              limits: { userQueue: 100, userPerMinute: 100000 },
              options: { seconds: 1 },
            },
            (p) => {
              if (p.stage === 'generating') rec.generatingAt ??= performance.now();
            },
          );
          const { result } = await done;
          if (!result.videoPath || !existsSync(result.videoPath) || statSync(result.videoPath).size === 0)
            throw new Error(`no video: ${result.reply}`);
          rec.version = motions.load(result.motionIds[0]).provenance.modelVersion;
        } catch (err) {
          rec.error = (err as Error).message;
        }
        rec.finishedAt = performance.now();
      }
    };
    const until = async (what: string, check: () => boolean, ms = 120_000) => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; served: ${JSON.stringify(served)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const clients = [client(1), client(2)];
    let evaluatedAt = Infinity;
    let publishedAt = Infinity;
    const runner = new TrainingRunner({
      dataDir: join(root, 'training'),
      modelsDir: registry,
      cacheDir: join(root, 'cache'),
      embeddingsDir: join(root, 'embeddings'),
      trainer: {
        command: PYTHON,
        args: [FAKE_TRAINER],
        env: {
          FAKE_STEPS: '2',
          FAKE_STEP_S: '0.01',
          FAKE_COPY_FROM: committed!,
          FAKE_METRICS: JSON.stringify(evalMetrics(0.999, 0.001)),
        },
      },
      onEvent: (_job, event) => {
        if (event === 'evaluated') evaluatedAt = performance.now();
        if (event === 'published') publishedAt = performance.now();
      },
    });
    try {
      writeFakeTrainerInputs(join(root, 'cache'), join(root, 'embeddings'));
      await until(
        'two requests served on the old version',
        () => served.filter((s) => s.version === 'base').length >= 2,
      );
      runner.store.enqueue({ config: 'tiny' });
      const job: TrainingJob | null = await runner.runNext();
      assert.equal(job?.state, 'published', job?.error ?? '');
      const fresh = String(job!.result?.version);
      assert.equal(liveVersion(registry), fresh);
      await until('a request served on the new version', () => served.some((s) => s.version === fresh));
      const firstFresh = Math.min(...served.filter((s) => s.version === fresh).map((s) => s.finishedAt!));
      await until(
        'two more requests submitted after that',
        () => served.filter((s) => s.submittedAt > firstFresh && s.finishedAt !== undefined).length >= 2,
      );

      // A corrupt version reaches the LIVE pointer (written behind the registry's back): the bot keeps the one it has.
      const broken = join(registry, 'broken');
      cpSync(join(registry, fresh), broken, { recursive: true });
      editManifest(broken, (m) => {
        m.version = 'broken';
      });
      truncateSync(join(broken, 'gpt.onnx'), 1000);
      writeFileSync(join(registry, 'LIVE.tmp'), 'broken\n');
      renameSync(join(registry, 'LIVE.tmp'), join(registry, 'LIVE'));
      // The bot watches the pointer by file events with a 2 s poll behind them: requests from 2.5 s on come after it looked.
      const pointedAt = performance.now();
      await until(
        'two requests after the corrupt pointer',
        () => served.filter((s) => s.submittedAt > pointedAt + 2500 && s.finishedAt !== undefined).length >= 2,
      );
      stop = true;
      await Promise.all(clients);

      const failed = served.filter((s) => s.error);
      assert.deepEqual(failed, [], 'zero failed requests');
      const inFlight = served.filter((s) => s.generatingAt! < evaluatedAt && s.finishedAt! > publishedAt);
      assert.ok(
        inFlight.length >= 1,
        `a request was in flight while the new version went live: ${JSON.stringify(served)}`,
      );
      for (const s of served.filter((x) => x.generatingAt! < evaluatedAt))
        assert.equal(s.version, 'base', 'generated before the publish: the old version');
      for (const s of served.filter((x) => x.submittedAt > firstFresh))
        assert.equal(s.version, fresh, 'after the swap: the new version, also after the corrupt pointer');
      const byGeneration = [...served].sort((a, b) => a.generatingAt! - b.generatingAt!).map((s) => s.version);
      assert.deepEqual(
        byGeneration,
        [...byGeneration.filter((v) => v === 'base'), ...byGeneration.filter((v) => v === fresh)],
        'never back to the old version',
      );
      console.log(
        `# served ${served.length} requests (${byGeneration.filter((v) => v === 'base').length} on base, ${byGeneration.filter((v) => v === fresh).length} on ${fresh}), ${inFlight.length} in flight at the swap`,
      );
    } finally {
      stop = true;
      await Promise.allSettled(clients);
      await runner.close();
      await rt.close();
    }
  },
);
