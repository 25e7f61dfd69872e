import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/bot/store.js';
import {
  COMMUNITY_SCHEMA_VERSION,
  CommunityStore,
  GuessMatcher,
  buildReport,
  checkPhrase,
  chooseThreshold,
  expandedSide,
  feedbackLines,
  hintFor,
  hintsDue,
  normalisePhrase,
  duelUnavailable,
  planDuel,
  revealText,
  summaryLines,
  wilson,
  writeFeedback,
  writeReport,
} from '../../src/community/index.js';
import { sharedSentenceEncoder } from '../../src/motion/text/index.js';
import { tempDir } from '../bot/helpers.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

test('phrases: normalisation dedups wording, and the filter refuses profanity, links, mentions and bad lengths with one clear line', () => {
  assert.equal(normalisePhrase('  A person Juggles   three balls!! '), 'juggles three balls');
  assert.equal(normalisePhrase('Someone is waving.'), 'waving');
  assert.equal(normalisePhrase('Crème brûlée dance'), 'creme brulee dance');
  const ok = checkPhrase('Juggle three balls');
  assert.deepEqual(ok, { ok: true, text: 'Juggle three balls', norm: 'juggle three balls' });
  const refused = (s: string) => {
    const r = checkPhrase(s);
    assert.equal(r.ok, false, `"${s}" should be refused`);
    return (r as { reason: string }).reason;
  };
  assert.match(refused('   '), /empty/);
  assert.match(refused('x'.repeat(81)), /81 characters; the limit is 80/);
  assert.match(refused('one two three four five six seven eight nine ten eleven twelve thirteen'), /13 words/);
  assert.match(refused('!!'), /at least 3 letters/);
  assert.match(refused('dance at https://evil.example'), /Links/);
  assert.match(refused('hug <@123456>'), /Mentions/);
  assert.match(refused('sh1iiit on the floor'), /profanity or abuse/);
  assert.match(refused('act like a F.U.C.K.E.R'), /profanity or abuse/);
  assert.match(refused('tell them to kill yourself'), /profanity or abuse/);
  // Innocent words that contain a blocked word as a part stay allowed.
  assert.equal(checkPhrase('pass the cocktail shaker').ok, true);
  assert.equal(checkPhrase('assess the class').ok, true);
});

test('hints grow with wrong guesses, up to the cap', () => {
  assert.equal(hintFor('Wave both hands', 1), '3 words: w﹍﹍﹍  b﹍﹍﹍  h﹍﹍﹍﹍');
  assert.equal(hintFor('Wave both hands', 2), '3 words: wave  b﹍﹍﹍  h﹍﹍﹍﹍');
  assert.deepEqual(
    [0, 2, 3, 5, 6, 30].map((w) => hintsDue(w, { every: 3, max: 2 })),
    [0, 0, 1, 1, 2, 2],
  );
});

test('Wilson 95 % interval: known values, edges and bad input', () => {
  const p = wilson(8, 10);
  assert.equal(p.rate, 0.8);
  assert.ok(Math.abs(p.ci95![0] - 0.4902) < 1e-3 && Math.abs(p.ci95![1] - 0.9433) < 1e-3, JSON.stringify(p));
  const all = wilson(3, 3);
  assert.ok(
    all.ci95![0] > 0.43 && all.ci95![0] < 0.44 && all.ci95![1] === 1,
    'all-successes still has a lower bound below 1',
  );
  assert.deepEqual(wilson(0, 0), { successes: 0, trials: 0, rate: null, ci95: null });
  assert.throws(() => wilson(4, 3), /0 ≤ successes ≤ trials/);
});

test('duel planning: k=0 vs k=4 when descriptions exist, guidance otherwise (and says why), sides shuffled', async () => {
  const lookup = { lookup: async () => ({ descriptions: ['d1', 'd2', 'd3', 'd4'], source: 'llm' }) };
  const left = await planDuel('juggle', lookup, () => 0);
  const right = await planDuel('juggle', lookup, () => 1);
  assert.equal(left.variable, 'expansion');
  assert.equal(left.a.k, 0);
  assert.equal(left.b.k, 4);
  assert.equal(right.a.k, 4, 'the other draw swaps the sides');
  assert.equal(expandedSide(left.a, left.b), 'B');
  assert.match(left.about, /raw phrase \(k=0\) against Action-GPT's k=4/);
  const none = await planDuel('juggle', undefined, () => 0);
  assert.equal(none.variable, 'guidance');
  assert.deepEqual([none.a.guidance, none.b.guidance], [1, 3]);
  assert.match(none.about, /guidance 1 vs 3 — no LLM is configured/);
  const failing = await planDuel(
    'juggle',
    {
      lookup: async () => {
        throw new Error('503 from the LLM');
      },
    },
    () => 0,
  );
  assert.match(failing.about, /the LLM failed \(503 from the LLM\)/);
  assert.equal(expandedSide(none.a, none.b), undefined);
  assert.equal(duelUnavailable('engine'), null);
  assert.match(duelUnavailable('retrieval') ?? '', /no trained model .* both sides would be the same clip/);
  assert.match(
    revealText(left.a, left.b, { A: 1, B: 3, N: 0 }),
    /A = k=0 \(raw phrase\), B = k=4 \(Action-GPT, llm\) · votes A 1 · B 3 · neither 0 → \*\*B\*\* \(k=4/,
  );
});

test('the threshold search caps the false-accept rate first, then maximises TPR − FPR', () => {
  const pos = [0.9, 0.85, 0.8, 0.7];
  const neg = [0.1, 0.2, 0.3, 0.75];
  assert.deepEqual(chooseThreshold(pos, neg, 0.25), { threshold: 0.305, tpr: 1, fpr: 0.25 });
  assert.equal(chooseThreshold(pos, neg, 0).threshold, 0.755);
});

test('guesses: exact normalised text, USE paraphrases above the calibrated threshold, unrelated guesses refused', async () => {
  const matcher = new GuessMatcher(() => sharedSentenceEncoder());
  assert.deepEqual(await matcher.judge('  Wave both hands! ', 'wave both hands'), {
    correct: true,
    exact: true,
    similarity: 1,
  });
  const para = await matcher.judge('a person waves both hands.', 'wave both hands');
  assert.ok(para.correct && !para.exact && para.similarity >= 0.76, JSON.stringify(para));
  const wrong = await matcher.judge('kick a ball', 'wave both hands');
  assert.ok(!wrong.correct && wrong.similarity < 0.6, JSON.stringify(wrong));
  assert.equal((await matcher.judge('?!', 'wave')).correct, false);
  assert.throws(() => new GuessMatcher(() => sharedSentenceEncoder(), 1.5), /threshold must be in/);
});

test('community store: own schema bookkeeping beside the conversation store, pool dedup, votes once per user and changeable, rounds, leaderboard', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'charades.sqlite');
    const main = new Store(path);
    const versionBefore = main.schemaVersion;
    const cs = new CommunityStore(main.db);
    assert.equal(cs.schemaVersion, COMMUNITY_SCHEMA_VERSION);
    assert.equal(main.schemaVersion, versionBefore, 'PRAGMA user_version belongs to the conversation store');
    const added = cs.submit({ text: 'Wave both hands', norm: 'wave both hands', userId: 'u1', guildId: 'g' });
    assert.equal(added.status, 'added');
    assert.equal(
      cs.submit({ text: 'wave both hands!', norm: 'wave both hands', userId: 'u2', guildId: 'g' }).status,
      'duplicate',
    );
    assert.equal(cs.poolSize(), 1);
    cs.recordEvent('u1', 'submit');
    assert.equal(cs.eventsSince('u1', 'submit', new Date(Date.now() - 60_000).toISOString()), 1);

    const duel = cs.createDuel({
      phraseId: added.phrase.id,
      guildId: 'g',
      channelId: 'c',
      createdBy: 'u1',
      variable: 'expansion',
      a: { label: 'k=0 (raw phrase)', k: 0 },
      b: { label: 'k=4', k: 4, descriptions: ['d'] },
      seed: 5,
    });
    cs.openDuel(duel.id, {
      messageId: 'm',
      channelId: 'c',
      closesAt: new Date(Date.now() - 1).toISOString(),
      modelVersion: 'v1',
    });
    assert.deepEqual(cs.voteDuel(duel.id, 'u1', 'A'), { changed: false });
    assert.deepEqual(cs.voteDuel(duel.id, 'u1', 'B'), { changed: true });
    cs.voteDuel(duel.id, 'u2', 'B');
    cs.voteDuel(duel.id, 'u3', 'N');
    assert.deepEqual(cs.duelTally(duel.id), { A: 0, B: 2, N: 1 });
    assert.equal(cs.duelsDue(new Date().toISOString()).length, 1);
    assert.equal(cs.closeDuel(duel.id), true);
    assert.equal(cs.closeDuel(duel.id), false, 'closing twice reveals once');

    const game = cs.createGame({ phraseId: added.phrase.id, guildId: 'g', channelId: 'c', startedBy: 'u1', seed: 1 });
    cs.openGame(game.id, {
      messageId: 'm2',
      threadId: 't',
      deadlineAt: new Date(Date.now() + 60_000).toISOString(),
      modelVersion: 'v1',
    });
    assert.equal(cs.activeGameIn('t')?.id, game.id);
    assert.equal(cs.addGuess(game.id, 'u2', 'jump', 0.4, false).wrongGuesses, 1);
    assert.equal(cs.endGame(game.id, 'solved', { winnerId: 'u3' }), true);
    assert.equal(cs.endGame(game.id, 'timeout'), false, 'a solved round cannot also time out');
    assert.deepEqual(cs.leaderboard('g'), [{ userId: 'u3', wins: 1 }]);
    assert.deepEqual(cs.leaderboard('other'), []);
    cs.removePhrase(added.phrase.id, 'admin');
    assert.equal(cs.poolSize(), 0);
    assert.equal(
      cs.leastPlayedPhrase('game', () => 0),
      undefined,
      'removed phrases are not played',
    );

    const report = buildReport(cs);
    assert.equal(report.overall.expansion.votes.k4, 2);
    assert.equal(report.overall.expansion.votes.k0, 0);
    assert.equal(report.overall.game.recognition.rate, 1);
    assert.equal(report.phrases[0].removed, true, 'removed phrases keep their history in the report');
    main.close();
    // Re-opening migrates nothing twice.
    const again = new Store(path);
    assert.equal(new CommunityStore(again.db).poolSize(), 0);
    again.close();
  } finally {
    cleanup();
  }
});

test('ratings: one per user per result, changeable, withdrawable only as cast; the report and export carry request, seed, k, planner and model version', () => {
  const { dir, cleanup } = tempDir();
  try {
    const main = new Store(join(dir, 'charades.sqlite'));
    const conv = main.conversation('discord', 'k', 'u1');
    const turnId = main.addTurn({
      conversationId: conv.id,
      userId: 'u1',
      text: 'juggle three balls',
      action: 'prompt',
    });
    main.finishTurn(turnId, 'ok', [], 'agent:offline');
    main.addRequest({ id: 'job-1', conversationId: conv.id, turnId, userId: 'u1' });
    main.completeRequest('job-1', {
      request: { segments: [{ text: 'juggle three balls', seconds: 2 }], seed: 9, samples: 1 },
      videoPath: '/x.mp4',
      seconds: 2,
    });
    main.rate('job-1', 'u2', 1);
    main.rate('job-1', 'u2', -1);
    main.rate('job-1', 'u3', 1);
    assert.deepEqual(main.ratings('job-1'), { up: 1, down: 1 });
    assert.equal(main.unrate('job-1', 'u2', 1), false, 'removing a 👍 that became 👎 keeps the 👎');
    assert.equal(main.unrate('job-1', 'u3', 1), true);
    main.rate('job-1', 'u3', 1);
    const cs = new CommunityStore(main.db);
    cs.recordRatingContext('job-1', 'model-v7');
    cs.submit({ text: 'Juggle three balls', norm: 'juggle three balls', userId: 'u1', guildId: null });
    const rated = cs.ratedResults();
    assert.equal(rated.length, 2);
    assert.deepEqual(
      { ...rated[0], ratedAt: undefined, userId: undefined },
      {
        requestId: 'job-1',
        userId: undefined,
        value: -1,
        ratedAt: undefined,
        text: 'juggle three balls',
        norm: 'juggle three balls',
        seed: 9,
        k: 0,
        modelVersion: 'model-v7',
        planner: 'agent:offline',
        generator: null,
      },
    );
    const report = buildReport(cs);
    assert.deepEqual([report.phrases[0].ratings.up, report.phrases[0].ratings.down], [1, 1]);
    assert.match(summaryLines(report)[1], /👍 1 · 👎 1 · approval 50.0 %/);
    const out = join(dir, 'out', 'feedback.jsonl');
    assert.equal(writeFeedback(cs, out), 3);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => l.kind),
      ['phrase', 'rating', 'rating'],
    );
    assert.equal(lines[0].schema, 'charades-feedback/1');
    assert.deepEqual(lines[0].ratings, { up: 1, down: 1 });
    assert.equal(lines[1].model_version, 'model-v7');
    assert.equal(lines[1].user_id, undefined, 'no user ids in the export');
    assert.equal(feedbackLines(cs).length, 3);
    main.close();
  } finally {
    cleanup();
  }
});

test('an empty community: the report explains what is missing, charts and export are still written', () => {
  const { dir, cleanup } = tempDir();
  try {
    const main = new Store(join(dir, 'charades.sqlite'));
    const cs = new CommunityStore(main.db);
    const report = buildReport(cs);
    assert.equal(report.pool.active, 0);
    assert.equal(report.overall.expansion.k4WinRate.rate, null);
    assert.ok(report.notes.some((n) => /pool is empty/.test(n)));
    assert.ok(summaryLines(report).some((l) => /win rate n\/a/.test(l)));
    const files = writeReport(report, join(dir, 'report'));
    for (const f of [
      'report.json',
      'ab-win-rate.png',
      'recognition.png',
      'ratings.png',
      'similarity.png',
      'index.html',
    ])
      assert.ok(existsSync(join(dir, 'report', f)), f);
    assert.deepEqual(readFileSync(files.find((f) => f.endsWith('ab-win-rate.png'))!).subarray(0, 4), PNG);
    assert.equal(writeFeedback(cs, join(dir, 'empty.jsonl')), 0);
    main.close();
  } finally {
    cleanup();
  }
});
