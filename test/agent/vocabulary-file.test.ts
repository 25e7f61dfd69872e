// The model vocabulary the agent grounds requests in (src/motion/vocabulary.ts): which texts go in (data texts
// and labels, training paraphrases of the packs' own actions — never the held-out ones — and Action-GPT
// descriptions), that it survives the int8 round trip, that the manifest lists it, and that bad input is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { liveVersionDir, verifyVersion } from '../../src/motion/registry.js';
import { sharedSentenceEncoder } from '../../src/motion/text/config.js';
import {
  VOCABULARY_EMBEDDINGS_FILE,
  VOCABULARY_FILE,
  collectVocabularyEntries,
  readVocabulary,
  writeVocabulary,
} from '../../src/motion/vocabulary.js';

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'charades-vocab-'));
  const pack = join(dir, 'pack');
  mkdirSync(pack);
  const clip = (texts: string[], labels: string[]) => JSON.stringify({ texts, action_labels: labels });
  writeFileSync(
    join(pack, 'index.jsonl'),
    [
      clip(['a person crawls forward low on the floor.', 'someone crawls forward.'], ['crawl']),
      clip(['a person waves the left hand.'], ['wave-left-hand']),
    ].join('\n'),
  );
  const paraphrases = join(dir, 'paraphrases.json');
  writeFileSync(
    paraphrases,
    JSON.stringify({
      format: 'charades-paraphrases/1',
      actions: {
        crawl: { phrases: ['creep along on all fours'], heldout: ['go on hands and knees'] },
        dribble: { phrases: ['bounce a basketball'], heldout: [] },
      },
      styles: { happy: { phrases: ['cheerfully'], heldout: [] } },
      texts: {
        'a person waves the left hand.': { phrases: ['give a wave with the left hand'], heldout: ['left-hand wave'] },
      },
    }),
  );
  const annotations = join(dir, 'agpt.jsonl');
  writeFileSync(
    annotations,
    `${JSON.stringify({ phrase: 'crawl forward', action: 'crawl', descriptions: ['The person moves forward on knees and forearms, body low.', 'Knees and forearms alternate along the floor.'] })}\n`,
  );
  const model = join(dir, 'model');
  mkdirSync(model);
  return { dir, pack, paraphrases, annotations, model, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test("the vocabulary takes data texts and labels, paraphrases of the packs' own actions and texts, and Action-GPT phrases; never held-out phrases", () => {
  const f = fixture();
  try {
    const { entries, counts } = collectVocabularyEntries({
      dataDirs: [f.pack],
      paraphrases: f.paraphrases,
      annotations: f.annotations,
    });
    const texts = entries.map((e) => e.text);
    for (const t of [
      'crawl',
      'wave left hand',
      'a person crawls forward low on the floor.',
      'creep along on all fours',
      'give a wave with the left hand',
      'crawl forward',
    ])
      assert.ok(texts.includes(t), t);
    for (const t of ['go on hands and knees', 'left-hand wave']) assert.ok(!texts.includes(t), `held out: ${t}`);
    assert.ok(!texts.includes('bounce a basketball'), 'no paraphrases of actions the packs do not hold');
    assert.ok(!texts.includes('cheerfully'), 'styles are no actions');
    assert.deepEqual(counts, { label: 2, text: 3, paraphrase: 2, 'action-gpt': 1 });
    assert.equal(entries.find((e) => e.text === 'crawl forward')?.descriptions?.length, 2);
    const without = collectVocabularyEntries({ dataDirs: [f.pack], paraphrases: join(f.dir, 'absent.json') });
    assert.equal(without.counts.paraphrase, 0, 'an absent paraphrase file is tolerated');
    assert.throws(
      () => collectVocabularyEntries({ dataDirs: [join(f.dir, 'nowhere')] }),
      /no data pack at .*nowhere \(index\.jsonl missing\)/,
    );
  } finally {
    f.cleanup();
  }
});

test('written next to a model: listed in its manifest by sha256, read back with nearest-neighbour search', async () => {
  const f = fixture();
  try {
    const encoder = await sharedSentenceEncoder();
    writeFileSync(
      join(f.model, 'manifest.json'),
      JSON.stringify({ version: 'tmp-model', textEncoder: { id: encoder.id, dim: encoder.dim }, files: {} }),
    );
    const { file, bytes } = await writeVocabulary({
      modelDir: f.model,
      encoder,
      dataDirs: [f.pack],
      paraphrases: f.paraphrases,
      annotations: f.annotations,
    });
    assert.equal(file.model, 'tmp-model');
    const manifest = JSON.parse(readFileSync(join(f.model, 'manifest.json'), 'utf8')) as {
      files: Record<string, string>;
    };
    for (const name of [VOCABULARY_FILE, VOCABULARY_EMBEDDINGS_FILE]) {
      assert.equal(
        manifest.files[name],
        createHash('sha256')
          .update(readFileSync(join(f.model, name)))
          .digest('hex'),
        name,
      );
    }
    assert.equal(
      bytes,
      statSync(join(f.model, VOCABULARY_FILE)).size + statSync(join(f.model, VOCABULARY_EMBEDDINGS_FILE)).size,
    );
    const vocab = readVocabulary(f.model);
    assert.ok(vocab);
    const [probe] = await encoder.embed(['creep along on all fours']);
    const [best] = vocab.nearest(probe, 1);
    assert.equal(best.entry.text, 'creep along on all fours');
    assert.ok(best.cosine > 0.995, `int8 rows keep the cosine: ${best.cosine}`);
    assert.equal(
      vocab.nearest(probe, 3, ['label']).every((m) => m.entry.kind === 'label'),
      true,
    );
    assert.throws(() => vocab.nearest(new Float32Array(3)), /expected a 512-dim embedding, got 3/);
    writeFileSync(join(f.model, VOCABULARY_EMBEDDINGS_FILE), Buffer.alloc(10));
    assert.throws(() => readVocabulary(f.model), /10 bytes .* regenerate with `charades models vocabulary`/);
    writeFileSync(
      join(f.model, 'manifest.json'),
      JSON.stringify({ version: 'tmp-model', textEncoder: { id: 'minilm', dim: 384 }, files: {} }),
    );
    await assert.rejects(
      writeVocabulary({ modelDir: f.model, encoder, dataDirs: [f.pack] }),
      /trained with text encoder minilm \(384\), the configured one is use-en/,
    );
  } finally {
    f.cleanup();
  }
});

test('the live model ships its vocabulary: small, verified with the version, with every source in it', async () => {
  const live = liveVersionDir('models');
  assert.ok(live);
  const size = statSync(join(live, VOCABULARY_FILE)).size + statSync(join(live, VOCABULARY_EMBEDDINGS_FILE)).size;
  assert.ok(size < 3 * 1024 * 1024, `${size} bytes`);
  const vocab = readVocabulary(live);
  assert.ok(vocab && vocab.size > 1000);
  for (const kind of ['label', 'text', 'paraphrase', 'action-gpt'])
    assert.ok(Number(vocab.file.sources[kind]) > 0, kind);
  const verified = await verifyVersion(live);
  assert.equal(verified.ok, true, verified.errors.join('; '));
});
