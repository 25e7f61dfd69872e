// Grounding and honest replies: requests no motion data holds become sequences of what the model does well, with
// pinned postures; the reply says so in one line; phrases far from the model's vocabulary are rewritten by an
// LLM when there is one, or kept with a note naming the closest thing the model does well. Real components:
// the live model's vocabulary, the USE text encoder, the offline planner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NAMED_POSES } from '../../src/motion/contracts.js';
import type { MotionRequest } from '../../src/motion/contracts.js';
import { namedPose } from '../../src/motion/engine/poses.js';
import { liveVersionDir } from '../../src/motion/registry.js';
import { sharedSentenceEncoder } from '../../src/motion/text/config.js';
import { readVocabulary } from '../../src/motion/vocabulary.js';
import {
  createAgent,
  createAgentFromEnv,
  emptyConversation,
  evaluate,
  loadEvalSet,
  recordMotion,
} from '../../src/agent/index.js';
import { startOpenAIServer } from './openai-server.js';
import { GROUNDING_THRESHOLD, createGrounder, expandSteps, rewritePrompt } from '../../src/agent/ground.js';
import type { GroundingModel, Knowledge } from '../../src/agent/ground.js';
import { PANTOMIMES, findPantomime } from '../../src/agent/pantomimes.js';
import { replyAfterGeneration } from '../../src/agent/reply.js';

const LIVE = liveVersionDir('models');
let knowledge: Promise<Knowledge> | undefined;
function liveKnowledge(): Promise<Knowledge> {
  return (knowledge ??= (async () => {
    assert.ok(LIVE, 'a LIVE model in models/');
    const vocabulary = readVocabulary(LIVE);
    assert.ok(vocabulary, `${LIVE} has a vocabulary (charades models vocabulary)`);
    return { vocabulary, encoder: await sharedSentenceEncoder() };
  })());
}

const lexiconAgent = createAgent({ planner: 'offline', grounder: createGrounder() });
const turn = (text: string) => lexiconAgent.turn(emptyConversation(), text);
const texts = (r?: MotionRequest) => r?.segments.map((s) => s.text);
const total = (r: MotionRequest) => r.segments.reduce((s, x) => s + x.seconds, 0);

/** Seconds of the clip whose segments are pinned to `pose` at both ends (the end by its own pose or the next segment's start). */
function heldSeconds(r: MotionRequest, pose: string): number {
  const is = (p: unknown) => typeof p === 'object' && p !== null && (p as { name?: string }).name === pose;
  return r.segments
    .filter((s, i) => is(s.control?.init) && (is(s.control?.last) || is(r.segments[i + 1]?.control?.init)))
    .reduce((sum, s) => sum + s.seconds, 0);
}

test('the lexicon covers what chat users ask for that no data holds: animals, everyday acts, sports, emotions', async () => {
  const asks = [
    'act like a dog',
    'be a cat',
    'pretend to be a monkey',
    'act like a chicken',
    'act like a bird',
    'act like a frog',
    'act like an elephant',
    'act like a snake',
    'act like a horse',
    'act like a bear',
    'act like a penguin',
    'act like a kangaroo',
    'act like a rabbit',
    'act like a duck',
    'act like a gorilla',
    'act like a crab',
    'act like a fish',
    'sit down on a chair',
    'sit on the floor',
    'sleep',
    'eat a sandwich',
    'drink water',
    'talk on the phone',
    'clap',
    'brush your teeth',
    'read a book',
    'kneel',
    'swim',
    'play golf',
    'play basketball',
    'play tennis',
    'ski',
    'do jumping jacks',
    'act happy',
    'cry',
    'act angry',
    'act scared',
    'act tired',
    'act proud',
  ];
  for (const ask of asks) {
    const r = await turn(ask);
    assert.ok(r.substitutions?.length, `${ask}: substituted (got ${texts(r.request)?.join(' | ')})`);
    assert.notDeepEqual(texts(r.request), texts(r.planned), ask);
  }
});

test('"act like a dog" shows the figure on all fours for most of the clip, and the reply says so in one line', async () => {
  const r = await turn('make a person act like a dog');
  assert.deepEqual(texts(r.planned), ['act like a dog'], 'the planner understood a dog');
  assert.ok(r.request);
  assert.ok(
    heldSeconds(r.request, 'on-all-fours') / total(r.request) >= 0.6,
    `on all fours for ${heldSeconds(r.request, 'on-all-fours')} of ${total(r.request)} s`,
  );
  assert.equal(r.request.segments[0].text, 'crawl forward low on the floor, on knees and forearms');
  assert.deepEqual(
    r.request.segments.map((s) => s.caption),
    r.request.segments.map(() => 'act like a dog'),
    'the video is captioned with what was asked, not the steps standing in for it',
  );
  assert.ok((r.request.segments[0].control?.keys?.length ?? 0) >= 3, 'key poses pin the posture in between');
  assert.match(r.reply, /^No dog data: crawling on all fours[^.]*\. /);
  assert.doesNotMatch(r.reply, /\n/);
});

test('a sitting request ends with the pelvis at chair height, pinned; sleeping lies on the floor', async () => {
  const chair = (await turn('sit down on a chair')).request!;
  const lastSeg = chair.segments.at(-1)!;
  assert.deepEqual(lastSeg.control?.last, { kind: 'named', name: 'sitting-chair' });
  assert.ok(heldSeconds(chair, 'sitting-chair') > 0);
  const pelvis = namedPose('sitting-chair').joints[1];
  assert.ok(pelvis > 0.4 && pelvis < 0.6, `seat height ${pelvis}`);
  const sleep = (await turn('sleep')).request!;
  assert.ok(heldSeconds(sleep, 'lying-front') / total(sleep) > 0.5);
  const still = chair.segments.at(-1)!;
  const gaps = [0, ...(still.control?.keys ?? []).map((k) => k.at), still.seconds]
    .map((t, i, all) => (i ? t - all[i - 1] : 0))
    .slice(1);
  assert.ok(Math.max(...gaps) <= 0.21, `a held posture is pinned on every 0.2 s motion token: gaps ${gaps.join(', ')}`);
});

test("the request's own duration, style, end pose and continuation survive the substitution", async () => {
  const long = (await turn('act like a dog for 10 seconds')).request!;
  assert.ok(Math.abs(total(long) - 10) < 1e-9, `10 s, got ${total(long)}`);
  const angry = (await turn('act like a dog angrily')).request!;
  assert.ok(
    angry.segments.every((s) => / angrily$/.test(s.text)),
    texts(angry)?.join(' | '),
  );
  const ending = (await turn('act like a cat and end standing')).request!;
  assert.deepEqual(ending.segments.at(-1)?.control?.last, { kind: 'named', name: 'standing' });
  let state = (await lexiconAgent.turn(emptyConversation(), 'walk')).state;
  state = recordMotion(state, ['m1']);
  const cont = await lexiconAgent.turn(state, 'then act like a frog');
  const first = cont.request!.segments[0];
  assert.deepEqual(first.control?.continueFrom, { id: 'm1' });
  assert.equal(first.control?.init, undefined, 'a continuation does not jump to a start pose');
});

test('follow-ups edit the request as understood, and grounding applies again', async () => {
  const first = await turn('act like a dog');
  const again = await lexiconAgent.turn(first.state, 'same but happier');
  assert.deepEqual(texts(again.planned), ['act like a dog happily']);
  assert.ok(again.request?.segments.every((s) => /happily$/.test(s.text)));
  const slower = await lexiconAgent.turn(first.state, 'slower');
  assert.equal(slower.request?.speed, 0.5);
  assert.equal(slower.request?.segments[0].text, 'crawl forward low on the floor, on knees and forearms');
});

test('no two pins on neighbouring frames: a step ends unpinned where the next one starts pinned (except a marked slow lowering)', () => {
  for (const p of PANTOMIMES) {
    const segs = expandSteps({ action: p.name, seconds: 6 }, p.steps, 8);
    for (let i = 0; i + 1 < segs.length; i++) {
      if (segs[i + 1].init && !p.steps[i].pinEnd)
        assert.equal(segs[i].last, undefined, `${p.name}: step ${i} and ${i + 1}`);
    }
  }
  const sleep = expandSteps({ action: 'sleep', seconds: 4 }, findPantomime('sleep')!.steps, 8);
  assert.deepEqual(sleep[0].last, { kind: 'named', name: 'lying-front' }, 'lying down keeps its end pose');
});

test('several pantomimes in one message fit the segment limit and each keeps at least one step', async () => {
  const r = await turn('act like a dog, then act like a frog, then act like a monkey, then act like a fish');
  assert.ok(r.request && r.request.segments.length <= 8, `${r.request?.segments.length} segments`);
  assert.equal(r.substitutions?.length, 4);
  assert.doesNotMatch(r.reply, /I kept the first/);
  assert.match(r.reply, /^No dog data: [^;]+; no frog data: [^;]+; no monkey data: [^;]+; no fish data: [^.]+\. /);
});

test('every pantomime step is something the live model knows (cosine to its vocabulary ≥ the threshold), with real poses', async () => {
  const { vocabulary, encoder } = await liveKnowledge();
  const steps = [...new Set(PANTOMIMES.flatMap((p) => p.steps.map((s) => s.text)))];
  const embeddings = await encoder.embed(steps);
  steps.forEach((text, i) => {
    const best = vocabulary.nearest(embeddings[i], 1)[0];
    assert.ok(
      best.cosine >= GROUNDING_THRESHOLD,
      `"${text}": nearest "${best.entry.text}" at ${best.cosine.toFixed(3)}`,
    );
  });
  for (const p of PANTOMIMES) {
    assert.ok(Math.abs(p.steps.reduce((s, x) => s + x.share, 0) - 1) < 1e-6, `${p.name}: shares add up to 1`);
    for (const s of p.steps)
      for (const pose of [s.init, s.last, ...(s.keys ?? []).map((k) => k[1])])
        if (pose) assert.ok(NAMED_POSES.includes(pose), `${p.name}: ${pose}`);
    // "no dog data: …", or for acts the data holds in a clip or two, "little crawling data: …"
    assert.match(p.summary, /^(no|little) [^:]+ data( \([^)]+\))?: /, `${p.name}: the summary says what is missing`);
  }
});

test('the threshold separates what the model knows from what it does not (measured on the live vocabulary)', async () => {
  const { vocabulary, encoder } = await liveKnowledge();
  // the planner's wording of actions the data holds, styled as users ask for them
  const known = [
    'walk forward',
    'wave the right hand',
    'wave the left hand',
    'raise both hands',
    'run forward angrily',
    'jump',
    'bow proudly',
    'kick',
    'throw a punch',
    'crouch down',
    'lie down on the floor',
    'skip forward happily',
    'walk backwards',
    'turn around',
    'stand still',
    'stand and look around',
    'bend down and pick up a box',
    'walk forward like an old person',
    'dash forward at full speed',
    'wave goodbye sadly',
    'walk sideways to the left',
    'walk and turn right',
    'hop',
    'leap forward',
    'dance',
    'run backwards',
    'stand up',
    'wave both hands',
    'walk forward sadly',
    'run forward tiredly',
    'slash as if with a sword',
    'jump twice',
  ];
  const unknown = [
    'act like a dog',
    'act like a cat',
    'act like a monkey',
    'act like a chicken',
    'act like an elephant',
    'act like a snake',
    'act like a horse',
    'swim',
    'play golf',
    'brush the teeth',
    'eat a sandwich',
    'drink water',
    'talk on the phone',
    'sleep',
    'read a book',
    'meditate',
    'play the guitar',
    'juggle',
    'ride a bike',
    'cry',
  ];
  const best = async (list: string[]) => (await encoder.embed(list)).map((e) => vocabulary.nearest(e, 1)[0].cosine);
  const k = await best(known);
  const u = await best(unknown);
  k.forEach((c, i) => assert.ok(c >= GROUNDING_THRESHOLD, `known "${known[i]}" at ${c.toFixed(3)}`));
  const caught = u.filter((c) => c < GROUNDING_THRESHOLD).length;
  assert.ok(
    caught / u.length >= 0.85,
    `${caught} of ${u.length} unknown requests fall below ${GROUNDING_THRESHOLD}: ${u.map((c) => c.toFixed(2)).join(' ')}`,
  );
});

test('offline, a far phrase the lexicon lacks is kept and the reply names the closest thing the model does well', async () => {
  const agent = createAgent({ planner: 'offline', grounder: createGrounder({ knowledge: liveKnowledge }) });
  const r = await agent.turn(emptyConversation(), 'juggle three balls');
  assert.deepEqual(texts(r.request), ['juggle three balls']);
  assert.match(
    r.reply,
    /I have no motion data close to “juggle three balls”, so it may not show; the closest thing I do well is “[^”]+”/,
  );
  const known = await agent.turn(emptyConversation(), 'wave goodbye sadly');
  assert.doesNotMatch(known.reply, /no motion data/);
  assert.equal(known.planned, undefined, 'nothing substituted');
});

test('with an LLM, a far phrase is rewritten from the vocabulary into known phrases, descriptions and poses', async () => {
  const prompts: string[] = [];
  const rewriter: GroundingModel = {
    id: 'fake:rewriter',
    async complete(prompt) {
      prompts.push(prompt);
      return (
        '```json\n{"summary": "no juggling data: raising the hands in turn", "steps": [' +
        '{"text": "raise the right hand", "share": 0.5, "descriptions": ["The person tosses with the right hand, raising it above the head."], "keys": [{"at": 0.5, "pose": "arms-raised"}]},' +
        '{"text": "raise the left hand", "share": 0.5, "init": "standing"}]}\n```'
      );
    },
  };
  const agent = createAgent({ planner: 'offline', grounder: createGrounder({ knowledge: liveKnowledge, rewriter }) });
  const r = await agent.turn(emptyConversation(), 'juggle three balls');
  assert.deepEqual(texts(r.request), ['raise the right hand', 'raise the left hand']);
  assert.deepEqual(r.request?.segments[0].descriptions, [
    'The person tosses with the right hand, raising it above the head.',
  ]);
  assert.deepEqual(r.request?.segments[0].control?.keys, [{ at: 1.3, pose: { kind: 'named', name: 'arms-raised' } }]);
  assert.match(r.reply, /^No juggling data: raising the hands in turn\. /);
  assert.equal(prompts.length, 1);
  assert.match(prompts[0], /"juggle three balls"/);
  assert.match(prompts[0], /on-all-fours, kneeling-up/);
  const { vocabulary, encoder } = await liveKnowledge();
  const matches = vocabulary.nearest((await encoder.embed(['juggle three balls']))[0], 3);
  for (const m of matches) assert.ok(rewritePrompt('juggle three balls', matches).includes(`"${m.entry.text}"`));

  const broken: GroundingModel = { id: 'fake:broken', complete: async () => 'Sure! Juggling is fun.' };
  const fallback = await createAgent({
    planner: 'offline',
    grounder: createGrounder({ knowledge: liveKnowledge, rewriter: broken }),
  }).turn(emptyConversation(), 'juggle three balls');
  assert.deepEqual(texts(fallback.request), ['juggle three balls'], 'an unusable answer keeps the phrase');
  assert.match(fallback.reply, /no motion data close to/);
});

test('after generation, an unsure fit says so and offers the closest thing the model does well; a sure one changes nothing', () => {
  const request: MotionRequest = {
    segments: [{ text: 'jump over a puddle', seconds: 2 }],
    samples: 1,
    seed: 1,
    temperature: 1,
    speed: 1,
  };
  const reply = 'Here is a person acting it out: jump over a puddle (2 s).';
  const unsure = replyAfterGeneration(reply, request, { score: 0.21, candidates: 4, threshold: 0.3, unsure: true });
  assert.match(
    unsure,
    /I'm not sure this clip shows “jump over a puddle” well \(match 0\.21, below 0\.30, best of 4\); something I do well that comes close: “jump”\./,
  );
  assert.equal(
    replyAfterGeneration(reply, request, { score: 0.5, candidates: 4, threshold: 0.3, unsure: false }),
    reply,
  );
  assert.equal(replyAfterGeneration(reply, request, undefined), reply);
  const right: MotionRequest = { ...request, segments: [{ text: 'wave the right hand happily', seconds: 3 }] };
  const retry = replyAfterGeneration('ok', right, { score: 0.58, candidates: 4, threshold: 0.59, unsure: true });
  assert.match(
    retry,
    /another take \(Reroll\) may show it better\.$/,
    'what the model knows is offered again, never the other side',
  );
  assert.doesNotMatch(retry, /left/);
  const warned =
    'Here it is. I have no motion data close to “juggle”, so it may not show; the closest thing I do well is “hop”.';
  assert.equal(
    replyAfterGeneration(warned, request, { score: 0.1, candidates: 4, threshold: 0.3, unsure: true }),
    warned,
    'warned once',
  );
  const dog: MotionRequest = { ...request, segments: [{ text: 'act like a dog', seconds: 5 }] };
  assert.match(
    replyAfterGeneration('ok', dog, { score: 0.1, candidates: 1, threshold: 0.3, unsure: true }),
    /comes close: “crawl forward low on the floor, on knees and forearms”/,
  );
});

test('the chat eval scores the planner, so grounding leaves its accuracy unchanged', async () => {
  const cases = loadEvalSet('test/fixtures/chat-eval.jsonl');
  const plain = await evaluate(createAgent({ planner: 'offline' }), cases, 'offline');
  const grounded = await evaluate(lexiconAgent, cases, 'offline+lexicon');
  assert.equal(grounded.fieldAccuracy, plain.fieldAccuracy);
  assert.ok(grounded.fieldAccuracy >= 0.9);
});

test('findPantomime reads the planned action, most specific first', () => {
  assert.equal(findPantomime('sit like a dog')?.name, 'dog');
  assert.equal(findPantomime('sit down')?.name, 'sit on a chair');
  assert.equal(findPantomime('sit down on the floor')?.name, 'sit on the floor');
  assert.equal(findPantomime('walk forward'), undefined);
  assert.equal(findPantomime('wave the right hand'), undefined);
});

test('configured from the environment with an OpenAI-compatible server, the planner plans and the rewriter grounds over HTTP', async () => {
  const server = await startOpenAIServer((body) => {
    const tools = body.tools as unknown[] | undefined;
    const msgs = body.messages as { role: string; content?: string }[];
    if (tools && !msgs.some((m) => m.role === 'tool'))
      return {
        toolCalls: [{ name: 'plan_motion', args: { segments: [{ action: 'juggle three balls', seconds: 4 }] } }],
      };
    if (tools) return { content: 'Juggling!' };
    return {
      content:
        '{"summary": "no juggling data: raising the hands in turn", "steps": [{"text": "raise the right hand", "share": 0.5}, {"text": "raise the left hand", "share": 0.5}]}',
    };
  });
  try {
    const env = {
      OPENAI_BASE_URL: server.baseURL,
      OPENAI_MODEL: 'local-test-model',
      CHARADES_LLM_RETRIES: '0',
      CHARADES_EXPAND: 'off',
      CHARADES_MODELS: 'models',
    };
    const { agent } = createAgentFromEnv(env);
    const r = await agent.turn(emptyConversation(), 'juggle three balls');
    assert.equal(r.planner, 'llm');
    assert.deepEqual(texts(r.planned), ['juggle three balls']);
    assert.deepEqual(texts(r.request), ['raise the right hand', 'raise the left hand']);
    assert.match(r.reply, /^No juggling data: raising the hands in turn\. /);
    const rewrite = server.requests.find((b) => !b.tools);
    assert.ok(rewrite, 'a rewrite request was sent');
    assert.equal(rewrite.temperature, 0);
    assert.ok(Number(rewrite.max_tokens ?? rewrite.max_completion_tokens) >= 900, 'room for the JSON answer');
  } finally {
    await server.close();
  }
});

/** The pantomime `asked` reaches is `name`, and one of its steps pins `pose`. */
function pinsPose(asked: string, name: string, pose: string) {
  const p = findPantomime(asked);
  assert.equal(p?.name, name, asked);
  const poses = p?.steps.flatMap((s) => [s.init, s.last, s.hold, ...(s.keys ?? []).map((k) => k[1])]) ?? [];
  assert.ok(poses.includes(pose as never), `${asked}: pins ${pose}`);
  return p!;
}

test('floor-level acts the data holds in a clip or two get their posture pinned, and the reply says so', () => {
  const cases: Array<[string, string, string]> = [
    ['lie down on the floor', 'lie down', 'lying-front'],
    ['lie on your back', 'lie on the back', 'lying-back'],
    ['crawl on all fours', 'crawl', 'on-all-fours'],
    ['do a squat', 'squat', 'squatting'],
    ['get down low', 'squat', 'squatting'],
  ];
  for (const [asked, name, pose] of cases) assert.match(pinsPose(asked, name, pose).summary, /^little /);
  assert.equal(findPantomime('crawl like a dog')?.name, 'dog', 'an animal wins over the plain act');
});

test('limb gestures with little or no data pin their peak pose on the asked side, whatever the phrasing', () => {
  const cases: Array<[string, string, string]> = [
    ['kick with the left leg', 'left kick', 'kick-left'],
    ['do a left kick', 'left kick', 'kick-left'],
    ['kick with your right foot', 'right kick', 'kick-right'],
    ['kick', 'right kick', 'kick-right'],
    ['raise the left knee', 'left knee', 'knee-up-left'],
    ['lift your right knee up high', 'right knee', 'knee-up-right'],
    ['do high knees', 'high knees', 'knee-up-right'],
    ['punch with the left fist', 'left punch', 'punch-left'],
    ['throw a right punch', 'right punch', 'punch-right'],
    ['box like a boxer', 'boxing', 'guard'],
    ['clap your hands', 'clap', 'hands-together'],
    ['give a round of applause', 'clap', 'hands-together'],
    ['walk like a zombie', 'zombie', 'arms-forward'],
    ['act like an elephant', 'elephant', 'trunk'],
    ['pick something up from the floor', 'pick up', 'reaching-down'],
    ['bend down and touch your toes', 'pick up', 'reaching-down'],
  ];
  for (const [asked, name, pose] of cases) pinsPose(asked, name, pose);
  assert.equal(findPantomime('hop in place')?.name, 'jump in place');
  assert.match(
    findPantomime('hop in place')?.steps[0].text ?? '',
    /in place$/,
    'the words keep "in place" for best of N',
  );
  assert.equal(findPantomime('kick like a horse')?.name, 'horse', 'an animal wins over the gesture');
});

test('turning on the spot is a few steps turning to that side (the data turns only while walking)', () => {
  assert.equal(findPantomime('turn right')?.steps[0].text, 'walk and turn right');
  assert.equal(findPantomime('turn to the left')?.steps[0].text, 'walk and turn left');
  assert.equal(findPantomime('face right')?.name, 'turn right');
  assert.equal(findPantomime('walk and turn left'), undefined, 'a walk that turns is the data’s own act');
  assert.equal(findPantomime('turn around'), undefined);
});

test('other words for the same acts reach the same pantomime: a seat, a nap, a crouch', () => {
  assert.equal(findPantomime('take a seat on a chair')?.name, 'sit on a chair');
  assert.equal(findPantomime('have a seat')?.name, 'sit on a chair');
  assert.equal(findPantomime('take a nap')?.name, 'sleep');
  assert.equal(findPantomime('crouch down')?.name, 'crouch');
  assert.equal(findPantomime('crouch down low')?.name, 'squat');
  assert.equal(findPantomime('cower')?.name, 'scared', 'an emotion keeps its own pantomime');
});
