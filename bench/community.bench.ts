/**
 * Community zero-shot features: what a duel and a charades round cost before the video is posted (two or one
 * generations with the LIVE engine, evaluator similarity and foot-skate, the side-by-side or uncaptioned render),
 * how long judging one guess takes (USE), and building the report over a busy store.
 * BENCH_RUNS (default 5) timed runs after one warm-up; CHARADES_RENDER_SIZE sets the video size (default 512).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Actor, CommunityStore, GuessMatcher, buildReport } from '../src/community/index.js';
import { Store } from '../src/bot/store.js';
import { loadConfig } from '../src/config/index.js';
import { sharedSentenceEncoder } from '../src/motion/text/index.js';
import { report, summarize, timeIt } from './harness.js';
import type { Row } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECONDS = 4;
const rows: Row[] = [];
const json: Record<string, unknown> = {};
const round = (x: number) => Math.round(x * 1000) / 1000;

function record(name: string, ms: number[]): void {
  const s = summarize(ms);
  json[name] = { p50: round(s.p50), p95: round(s.p95), mean: round(s.mean), n: s.n };
  rows.push({ case: name, p50_ms: s.p50, p95_ms: s.p95, n: s.n });
}

const dir = mkdtempSync(join(tmpdir(), 'charades-community-bench-'));
const config = loadConfig({ overrides: { dataDir: dir, logLevel: 'silent' } });
const actor = new Actor(config, { render: config.render });
try {
  let seed = 0;
  const phrase = 'juggle three balls while hopping';
  record(
    `duel_${SECONDS}s_generate_measure_render_${config.render.size}`,
    await timeIt(
      async () => {
        seed++;
        const [a, b] = await Promise.all(
          [1, 3].map((guidance) => actor.act({ text: phrase, seconds: SECONDS, seed, guidance })),
        );
        await actor.measure(a, phrase);
        await actor.measure(b, phrase);
        await actor.renderDuel(phrase, a, b);
      },
      { runs: RUNS },
    ),
  );
  record(
    `round_${SECONDS}s_generate_measure_render_${config.render.size}`,
    await timeIt(
      async () => {
        seed++;
        const m = await actor.act({ text: phrase, seconds: SECONDS, seed });
        await actor.measure(m, phrase);
        await actor.renderSecret(m);
      },
      { runs: RUNS },
    ),
  );

  const matcher = new GuessMatcher(() => sharedSentenceEncoder());
  let n = 0;
  record(
    'judge_guess_use',
    await timeIt(() => matcher.judge(`guess number ${n++} about juggling`, phrase), { runs: 50, warmup: 3 }),
  );

  const main = new Store(join(dir, 'charades.sqlite'));
  const cs = new CommunityStore(main.db);
  for (let i = 0; i < 200; i++) {
    const p = cs.submit({ text: `phrase ${i}`, norm: `phrase ${i}`, userId: `u${i % 7}`, guildId: 'g' }).phrase;
    const d = cs.createDuel({
      phraseId: p.id,
      guildId: 'g',
      channelId: 'c',
      createdBy: 'u',
      variable: 'expansion',
      a: { label: 'k=0', k: 0 },
      b: { label: 'k=4', k: 4 },
      seed: i,
    });
    cs.openDuel(d.id, { messageId: 'm', channelId: 'c', closesAt: new Date().toISOString(), modelVersion: 'v' });
    for (let u = 0; u < 5; u++) cs.voteDuel(d.id, `u${u}`, (['A', 'B', 'N'] as const)[(i + u) % 3]);
    cs.closeDuel(d.id);
    const g = cs.createGame({ phraseId: p.id, guildId: 'g', channelId: 'c', startedBy: 'u', seed: i });
    cs.addGuess(g.id, 'u1', 'nope', 0.3, false);
    cs.endGame(g.id, i % 2 ? 'solved' : 'timeout', { winnerId: 'u2' });
    cs.addGenerated({
      phraseId: p.id,
      source: 'duel',
      refId: d.id,
      variant: 'k=0',
      k: 0,
      seed: i,
      similarity: 0.5,
      footSkate: 0.01,
    });
  }
  record('build_report_200_phrases_1000_votes', await timeIt(() => buildReport(cs), { runs: 10 }));
  main.close();
  json.render = config.render;
  json.clipSeconds = SECONDS;
  report('community', json, rows);
} finally {
  await actor.close();
  rmSync(dir, { recursive: true, force: true });
}
