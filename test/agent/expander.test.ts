import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActionGptExpander, createAgent, emptyConversation, phraseKey } from '../../src/agent/index.js';
import type { DescriptionModel } from '../../src/agent/index.js';

const SHIPPED = new URL('../../../shared/data/motion/annotations/action-gpt-k4.jsonl', import.meta.url).pathname;

function withCache<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'charades-expander-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('the shipped annotations answer by phrase and by dataset text, without any model', () =>
  withCache(async (dir) => {
    const shipped = readFileSync(SHIPPED, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { phrase: string; texts: string[]; descriptions: string[] });
    const walkAngry = shipped.find((r) => r.phrase === 'walk forward angrily');
    assert.ok(walkAngry, 'shipped file lacks "walk forward angrily"');
    const ex = new ActionGptExpander({ cacheDir: dir, shippedPath: SHIPPED });
    const byPhrase = await ex.lookup('Walk forward angrily');
    assert.equal(byPhrase.source, 'shipped');
    assert.deepEqual(byPhrase.descriptions, walkAngry.descriptions);
    assert.equal(byPhrase.descriptions.length, 4);
    assert.deepEqual((await ex.lookup(walkAngry.texts[0])).descriptions, walkAngry.descriptions);
    assert.deepEqual(await ex.lookup('juggle flaming torches'), { descriptions: [], source: 'none' });
  }));

test("the offline agent attaches shipped descriptions to the data's phrases and none (k = 0) to new ones", () =>
  withCache(async (dir) => {
    const agent = createAgent({
      planner: 'offline',
      expander: new ActionGptExpander({ cacheDir: dir, shippedPath: SHIPPED }),
    });
    const r = await agent.turn(emptyConversation(), 'walk angrily, then act like a dog');
    assert.equal(r.request?.segments[0].descriptions?.length, 4);
    assert.equal(r.request?.segments[1].descriptions, undefined);
  }));

test('repeats are free: concurrent lookups of one phrase make k calls once, later lookups none', () =>
  withCache(async (dir) => {
    const prompts: string[] = [];
    const model: DescriptionModel = {
      id: 'counting-model',
      async complete(prompt) {
        const n = prompts.push(prompt);
        await new Promise((r) => setTimeout(r, 5));
        return `  description ${n}\n of the motion `;
      },
    };
    const ex = new ActionGptExpander({ cacheDir: dir, model, shippedPath: false });
    const [a, b] = await Promise.all([ex.describe('do a cartwheel'), ex.describe('Do a cartwheel!')]);
    assert.equal(prompts.length, 4);
    assert.deepEqual(a, b);
    assert.deepEqual(a, [
      'description 1 of the motion',
      'description 2 of the motion',
      'description 3 of the motion',
      'description 4 of the motion',
    ]);
    await ex.describe('do a cartwheel');
    assert.equal(prompts.length, 4);
    const other = new ActionGptExpander({
      cacheDir: dir,
      model: { ...model, id: 'another-model' },
      shippedPath: false,
    });
    await other.describe('do a cartwheel');
    assert.equal(prompts.length, 8, 'the cache is keyed by (phrase, model)');
  }));

test('corrupt cache lines are skipped and reported, not fatal', () =>
  withCache(async (dir) => {
    mkdirSync(join(dir, 'action-gpt'), { recursive: true });
    writeFileSync(
      join(dir, 'action-gpt', 'descriptions.jsonl'),
      `not json\n{"phrase":"hop","model":"m","descriptions":["up and down"]}\n{"phrase":3}\n`,
    );
    const ex = new ActionGptExpander({
      cacheDir: dir,
      model: { id: 'm', complete: async () => 'x' },
      shippedPath: false,
    });
    assert.deepEqual(await ex.describe('hop'), ['up and down']);
    assert.equal(ex.skipped.length, 2);
    assert.match(ex.skipped[0], /descriptions\.jsonl:1: expected/);
  }));

test('bad settings and a missing shipped file are clear errors; a failing model rejects', () =>
  withCache(async (dir) => {
    assert.throws(() => new ActionGptExpander({ cacheDir: dir, k: 0 }), /k must be an integer from 1 to 8/);
    await assert.rejects(
      new ActionGptExpander({ cacheDir: dir, shippedPath: join(dir, 'nope.jsonl') }).describe('wave'),
      /shipped Action-GPT annotations not found/,
    );
    const failing = new ActionGptExpander({
      cacheDir: dir,
      shippedPath: false,
      model: {
        id: 'down',
        complete: async () => {
          throw new Error('503');
        },
      },
    });
    await assert.rejects(failing.describe('wave'), /503/);
    const empty = new ActionGptExpander({
      cacheDir: dir,
      shippedPath: false,
      model: { id: 'mute', complete: async () => '   ' },
    });
    await assert.rejects(empty.describe('wave'), /returned 4 empty descriptions/);
  }));

test('phraseKey ignores case, spacing, "a person" and final punctuation', () => {
  assert.equal(phraseKey('  A person   walks forward.  '), 'walks forward');
  assert.equal(phraseKey('Someone bows!'), 'bows');
});
