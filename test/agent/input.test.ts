// Clean input: pings removed and never echoed, decorated Unicode and emoji understood, numbers
// that are no durations refused or clamped with a note and never left in the phrase, and a comma inside one
// action's description does not split it; speeds are shown exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MotionRequest } from '../../src/motion/contracts.js';
import { createAgent, describeRequest, emptyConversation } from '../../src/agent/index.js';
import { cleanInput, emojiToWords, foldUnicode, stripMentions } from '../../src/agent/input.js';

const agent = createAgent({ planner: 'offline' });
const turn = (text: string) => agent.turn(emptyConversation(), text);
const texts = (r?: MotionRequest) => r?.segments.map((s) => s.text);
const secs = (r?: MotionRequest) => r?.segments.map((s) => s.seconds);

test('Discord mentions of users, nicknames, roles, channels and the mass pings are removed; the rest is acted on', async () => {
  assert.equal(stripMentions('<@123> <@!456> <@&789> <#42> @everyone @here wave'), 'wave');
  for (const text of ['<@123456789> wave', 'wave <@!1> <@&2>', '@everyone wave @here', '<#99> wave']) {
    const r = await turn(text);
    assert.deepEqual(texts(r.request), ['wave the right hand'], text);
    assert.doesNotMatch(r.reply, /<@|<#|@everyone|@here/, text);
  }
});

test('a reply never carries a ping, whatever wrote it', async () => {
  const llm = {
    id: 'fake:pinger',
    systemPrompt: '',
    plan: async () => ({ kind: 'chat' as const, reply: 'Hello @everyone and <@123>, also @here!', notes: [] }),
  };
  const r = await createAgent({ planner: 'llm', llm }).turn(emptyConversation(), 'hi');
  assert.doesNotMatch(r.reply, /@everyone|@here|<@/);
  assert.match(r.reply, /Hello/);
});

test('decorated text is understood: script and full-width letters, strike-through and other combining marks', async () => {
  assert.equal(foldUnicode('𝔀𝓪𝓿𝓮'), 'wave');
  assert.equal(foldUnicode('ｗａｖｅ'), 'wave');
  assert.equal(foldUnicode('w̶a̶v̶e̶'), 'wave');
  for (const text of ['𝔀𝓪𝓿𝓮', 'ｗａｖｅ', 'w̶a̶v̶e̶', 'ẘ̴̡a̸͎v̷e̵', '𝕨𝕒𝕧𝕖 𝕥𝕙𝕖𝕟 𝕛𝕦𝕞𝕡']) {
    const r = await turn(text);
    assert.equal(r.request?.segments[0].text, 'wave the right hand', text);
  }
  assert.deepEqual(texts((await turn('𝕨𝕒𝕧𝕖 𝕥𝕙𝕖𝕟 𝕛𝕦𝕞𝕡')).request), ['wave the right hand', 'jump']);
});

test('animal and action emoji are understood, once, whether alone, as a noun or beside their word', async () => {
  const cases: Array<[string, string[]]> = [
    ['🐶', ['act like a dog']],
    ['🐕', ['act like a dog']],
    ['make him 🐱', ['act like a cat']],
    ['act like a dog 🐶', ['act like a dog']],
    ['walk like a 🐒', ['walk like a monkey']],
    ['🐔 then 🐸', ['act like a chicken', 'act like a frog']],
    ['🐘', ['act like an elephant']],
    ['🐍', ['act like a snake']],
    ['🐦', ['act like a bird']],
    ['👋', ['wave the right hand']],
    ['🙌', ['raise both hands']],
    ['💃 then 🙇', ['dance', 'bow']],
    ['🕺🏽', ['dance']],
    ['🏃‍♀️ for 3 seconds', ['run forward']],
    ['🚶', ['walk forward']],
    ['🥊', ['throw a punch']],
    ['⚽', ['kick']],
    ['👏', ['clap the hands']],
    ['😴', ['sleep']],
    ['🪑', ['sit down on a chair']],
    ['🦘', ['act like a kangaroo']],
  ];
  for (const [text, want] of cases) assert.deepEqual(texts((await turn(text)).request), want, text);
  assert.equal(emojiToWords('wave 🫠 please'), 'wave please', 'unknown emoji are dropped');
});

test('numbers that are no valid duration are refused or clamped with a note and never reach the phrase', async () => {
  for (const text of [
    'walk for -5 seconds',
    'walk for -5',
    'walk for −5 seconds',
    'walk for minus 5 seconds',
    'walk for NaN seconds',
    'walk for infinity seconds',
  ]) {
    const r = await turn(text);
    assert.deepEqual(texts(r.request), ['walk forward'], text);
    assert.deepEqual(secs(r.request), [4], `${text}: the usual length`);
    assert.match(r.reply, /is not a (duration|number of seconds)/, text);
  }
  const clamped: Array<[string, number]> = [
    ['dance for 1e6 seconds', 12],
    ['walk for 2 hours', 12],
    ['walk for five hundred million seconds', 12],
    ['wave for 500 ms', 0.5],
    ['jump for 0 seconds', 0.5],
  ];
  for (const [text, seconds] of clamped) {
    const r = await turn(text);
    assert.deepEqual(secs(r.request), [seconds], text);
    assert.doesNotMatch(r.request?.segments[0].text ?? '', /\d|for$|-/, text);
  }
  const negativeRepeat = await turn('jump -3 times');
  assert.deepEqual(texts(negativeRepeat.request), ['jump']);
  assert.match(negativeRepeat.reply, /not a number of times/);
});

test('a comma inside one action description does not split it; a comma before a new action or a modifier still does', async () => {
  const crawl = await turn('crawl forward low on the floor, on knees and forearms');
  assert.deepEqual(texts(crawl.request), ['crawl forward low on the floor, on knees and forearms']);
  assert.deepEqual(texts((await turn('run, slowly')).request), ['run slowly']);
  assert.deepEqual(texts((await turn('wave, sit down')).request), ['wave the right hand', 'sit down']);
  assert.deepEqual(texts((await turn('walk, jump over a puddle and keep walking')).request), [
    'walk forward',
    'jump over a puddle',
    'keep walking',
  ]);
  const styled = await turn('walk angrily, for 5 seconds');
  assert.deepEqual([texts(styled.request), secs(styled.request)], [['walk forward angrily'], [5]]);
});

test('cleanInput composes the steps and keeps plain text as it was', () => {
  assert.equal(cleanInput('<@1> 𝓳𝓾𝓶𝓹 🐶'), 'jump act like a dog');
  assert.equal(cleanInput('wave, then sit down'), 'wave, then sit down');
});

test('speeds are shown exactly (0.25×, not 0.3×)', async () => {
  const quarter = await turn('walk at quarter speed');
  assert.equal(quarter.request?.speed, 0.25);
  assert.match(quarter.reply, /at 0\.25× speed/);
  const r = {
    segments: [{ text: 'walk forward', seconds: 4 }],
    samples: 1 as const,
    seed: 0,
    temperature: 1,
    speed: 0.125,
  };
  assert.match(describeRequest(r), /at 0\.125× speed/);
});
