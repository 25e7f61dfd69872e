import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  inspectOnnx,
  listVersions,
  liveVersion,
  publishSwap,
  publishVersion,
  readHistory,
  rollback,
  subscribeSwap,
  useVersion,
  verifyVersion,
  watchLive,
  createHotSwap,
} from '../../src/motion/registry.js';
import * as ort from 'onnxruntime-node';
import type { SwapMessage } from '../../src/motion/registry.js';
import { FIXTURE_DIR, editManifest, makeModel, rehash } from '../fixtures/train-worker/models.js';
import { startRedis } from '../jobs/redis.js';

const CONCURRENT = ['c1', 'c2', 'c3', 'c4'];
const root = mkdtempSync(join(tmpdir(), 'charades-registry-'));
const src = join(root, 'src');
const fresh = (name: string) => {
  const dir = join(root, 'work', `${name}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(src, name), dir, { recursive: true });
  return dir;
};

before(async () => {
  await Promise.all([
    makeModel(join(src, 'v1'), 'v1', { metrics: { test: { r_precision_top3: 0.5, fid: 1.0 } } }),
    makeModel(join(src, 'v2'), 'v2', { metrics: { test: { r_precision_top3: 0.6, fid: 0.8 } } }),
    makeModel(join(src, 'v3'), 'v3'),
    makeModel(join(src, 'other-encoder'), 'other-encoder', { encoderId: 'clip-vit-b32', textDim: 512 }),
    makeModel(join(src, 'wrong-shape'), 'wrong-shape', { onnxFeatureDim: 70 }),
    ...CONCURRENT.map((v) => makeModel(join(src, v), v)),
  ]);
});

after(() => rmSync(root, { recursive: true, force: true }));

function registryWith(...versions: string[]): Promise<string> {
  const registry = join(root, `reg-${Math.random().toString(36).slice(2, 8)}`);
  return versions
    .reduce(async (p, v) => {
      await p;
      await publishVersion(join(src, v), { registry });
    }, Promise.resolve())
    .then(() => registry);
}

function assertUntouched(registry: string, live: string, absent: string): void {
  assert.equal(liveVersion(registry), live);
  assert.equal(existsSync(join(registry, absent)), false, `${absent} must not appear in the registry`);
  assert.deepEqual(readdirSync(join(registry, '.staging')), [], 'no staging leftovers');
}

describe('publish', () => {
  test('publishing switches the live pointer and records the history', async () => {
    const registry = await registryWith('v1');
    assert.equal(liveVersion(registry), 'v1');
    const r = await publishVersion(join(src, 'v2'), { registry, loadOnnx: true });
    assert.deepEqual(
      { version: r.version, previous: r.previous, live: r.live },
      { version: 'v2', previous: 'v1', live: true },
    );
    assert.equal(liveVersion(registry), 'v2');
    assert.equal(readFileSync(join(registry, 'LIVE'), 'utf8'), 'v2\n');
    // Listed oldest first by the manifests' creation time; these two were built in parallel, so compare as a set.
    assert.deepEqual(
      listVersions(registry)
        .map((v) => [v.version, v.live])
        .sort(),
      [
        ['v1', false],
        ['v2', true],
      ],
    );
    assert.deepEqual(readHistory(registry).stack, ['v1', 'v2']);
    assert.equal((await verifyVersion(join(registry, 'v2'), { loadOnnx: true })).ok, true);
  });

  test('publishing the same version twice is refused and changes nothing', async () => {
    const registry = await registryWith('v1', 'v2');
    await assert.rejects(publishVersion(join(src, 'v1'), { registry }), /version v1 already exists/);
    assert.equal(liveVersion(registry), 'v2');
  });

  test('makeLive: false stores a version without switching', async () => {
    const registry = await registryWith('v1');
    await publishVersion(join(src, 'v2'), { registry, makeLive: false });
    assert.equal(liveVersion(registry), 'v1');
    assert.ok(existsSync(join(registry, 'v2', 'gpt.onnx')));
  });
});

describe('rejection: the previous version stays live', () => {
  test('a corrupt file (one flipped byte) fails its sha256', async () => {
    const registry = await registryWith('v1');
    const bad = fresh('v3');
    const file = join(bad, 'vq_encoder.onnx');
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(file, bytes);
    await assert.rejects(publishVersion(bad, { registry }), /vq_encoder\.onnx: sha256 .* does not match .*corrupt/);
    assertUntouched(registry, 'v1', 'v3');
  });

  test('a truncated ONNX file fails the protobuf check even when its hash was re-recorded', async () => {
    const registry = await registryWith('v1');
    const bad = fresh('v3');
    const file = join(bad, 'vq_encoder.onnx');
    truncateSync(file, Math.floor(readFileSync(file).length / 2));
    rehash(bad, 'vq_encoder.onnx');
    await assert.rejects(publishVersion(bad, { registry }), /vq_encoder\.onnx: .*truncated/);
    assertUntouched(registry, 'v1', 'v3');
  });

  test('a model trained on another text encoder is refused', async () => {
    const registry = await registryWith('v1');
    await assert.rejects(
      publishVersion(join(src, 'other-encoder'), { registry }),
      /text encoder 'clip-vit-b32' does not match the configured 'use-en-energetic-0.2.0'/,
    );
    assertUntouched(registry, 'v1', 'other-encoder');
  });

  test('a text encoder of another width is refused', async () => {
    const registry = await registryWith('v1');
    const bad = fresh('v3');
    editManifest(bad, (m) => {
      m.textEncoder.dim = 384;
    });
    await assert.rejects(
      publishVersion(bad, { registry }),
      /text encoder dimension 384 does not match the configured 512/,
    );
    assertUntouched(registry, 'v1', 'v3');
  });

  test('ONNX graphs whose shapes disagree with the manifest are refused', async () => {
    const registry = await registryWith('v1');
    await assert.rejects(
      publishVersion(join(src, 'wrong-shape'), { registry }),
      /'features' has last dimension 70, the manifest promises 71 \(wrong shapes\)/,
    );
    assertUntouched(registry, 'v1', 'wrong-shape');
  });

  test('IO names the graph does not have are refused', async () => {
    const registry = await registryWith('v1');
    const bad = fresh('v3');
    editManifest(bad, (m) => {
      m.onnx.gpt.inputs = m.onnx.gpt.inputs.map((n) => (n === 'text_emb' ? 'text' : n));
    });
    await assert.rejects(
      publishVersion(bad, { registry }),
      /gpt\.onnx: inputs \[.*text_emb.*\] differ from the manifest's onnx\.gpt\.inputs/,
    );
    assertUntouched(registry, 'v1', 'v3');
  });

  test('a missing listed file and an unlisted extra file are both reported', async () => {
    const bad = fresh('v3');
    rmSync(join(bad, 'vq_decoder.onnx'));
    writeFileSync(join(bad, 'notes.txt'), 'stray');
    const r = await verifyVersion(bad);
    assert.equal(r.ok, false);
    assert.ok(
      r.errors.some((e) => /vq_decoder\.onnx: listed in the manifest but missing/.test(e)),
      r.errors.join('\n'),
    );
    assert.ok(
      r.errors.some((e) => /notes\.txt: present in the folder but not listed/.test(e)),
      r.errors.join('\n'),
    );
  });

  test('a manifest that fails the schema, or is not JSON, is reported in one line', async () => {
    const bad = fresh('v3');
    editManifest(bad, (m) => {
      m.format = 'something-else';
    });
    const r = await verifyVersion(bad);
    assert.equal(r.ok, false);
    assert.match(r.errors[0], /manifest\.json: format: /);
    writeFileSync(join(bad, 'manifest.json'), '{ not json');
    assert.match((await verifyVersion(bad)).errors[0], /not valid JSON/);
    assert.match((await verifyVersion(join(root, 'nowhere'))).errors[0], /no such model version folder/);
  });

  test('a version name that is not a safe folder name is refused', async () => {
    const registry = await registryWith('v1');
    const bad = fresh('v3');
    editManifest(bad, (m) => {
      m.version = '../escape';
    });
    await assert.rejects(publishVersion(bad, { registry }), /not a valid version name/);
    assert.equal(liveVersion(registry), 'v1');
  });

  test('inspectOnnx explains what is wrong with bytes that are not an ONNX model', () => {
    assert.throws(() => inspectOnnx(new Uint8Array()), /empty file/);
    assert.throws(() => inspectOnnx(Buffer.from('hello, this is plain text')), /onnx: /);
    const ok = inspectOnnx(readFileSync(join(src, 'v1', 'gpt.onnx')));
    assert.deepEqual(ok.inputs.find((i) => i.name === 'text_emb')?.shape, ['batch', 512]);
    assert.deepEqual(
      ok.outputs.map((o) => o.name),
      ['logits', 'present_key_values'],
    );
    assert.deepEqual(ok.opsets, [17]);
  });
});

describe("the trainer's own export", () => {
  const tiny = join(FIXTURE_DIR, '..', 'tiny-model');
  test(
    'the real tiny model (python -m trainer.fixtures) verifies, loads in onnxruntime and publishes',
    { skip: !existsSync(join(tiny, 'manifest.json')) && 'test/fixtures/tiny-model not built' },
    async () => {
      const check = await verifyVersion(tiny, { loadOnnx: true });
      assert.deepEqual(check.errors, []);
      const registry = join(root, 'reg-real');
      const r = await publishVersion(tiny, { registry });
      assert.equal(liveVersion(registry), r.version);
    },
  );
});

describe('use and rollback', () => {
  test('rollback walks back through earlier live versions, then says there is nothing left', async () => {
    const registry = await registryWith('v1', 'v2', 'v3');
    assert.equal((await rollback(registry)).version, 'v2');
    assert.equal(liveVersion(registry), 'v2');
    assert.equal((await rollback(registry)).version, 'v1');
    await assert.rejects(rollback(registry), /nothing to roll back to/);
    assert.equal(liveVersion(registry), 'v1');
    assert.deepEqual(
      readHistory(registry).events.map((e) => `${e.action}:${e.version}`),
      ['publish:v1', 'publish:v2', 'publish:v3', 'rollback:v2', 'rollback:v1'],
    );
  });

  test('rollback skips a version damaged since it was live', async () => {
    const registry = await registryWith('v1', 'v2', 'v3');
    writeFileSync(join(registry, 'v2', 'gpt.onnx'), 'overwritten');
    const r = await rollback(registry);
    assert.equal(r.version, 'v1');
    assert.match(r.skipped[0], /^v2 \(gpt\.onnx: sha256/);
  });

  test('use switches to an installed version and refuses unknown or damaged ones', async () => {
    const registry = await registryWith('v1', 'v2');
    assert.equal((await useVersion(registry, 'v1')).previous, 'v2');
    assert.equal(liveVersion(registry), 'v1');
    await assert.rejects(useVersion(registry, 'v9'), /no version 'v9' .*installed: (v1, v2|v2, v1)\)/);
    await assert.rejects(useVersion(registry, '../x'), /not a valid model version name/);
    writeFileSync(join(registry, 'v2', 'vq_decoder.onnx'), 'x');
    await assert.rejects(useVersion(registry, 'v2'), /refusing to make v2 live: vq_decoder\.onnx: sha256/);
    assert.equal(liveVersion(registry), 'v1');
  });
});

describe('readers and hot-swap signals', () => {
  test('a reader in another process never sees a half-written version while versions are published and switched', async () => {
    const registry = await registryWith('v1');
    const stop = join(root, `stop-${Date.now()}`);
    const reader = spawn(process.execPath, [join(FIXTURE_DIR, 'registry-reader.mjs'), registry, stop], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    reader.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => reader.once('exit', r));
    const deadline = Date.now() + 15_000;
    while (!out.startsWith('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const name of CONCURRENT) {
      await publishVersion(join(src, name), { registry });
      for (let i = 0; i < 6; i++) {
        await useVersion(registry, i % 2 ? name : 'v1');
        await new Promise((r) => setTimeout(r, 10)); // let the reader catch each pointer value now and then
      }
    }
    writeFileSync(stop, '');
    await exited;
    const result = JSON.parse(out.slice(out.indexOf('\n') + 1)) as {
      reads: number;
      bad: number;
      seen: string[];
      problems: string[];
    };
    assert.equal(result.bad, 0, result.problems.join('\n'));
    assert.ok(result.reads > 20, `the reader only managed ${result.reads} reads`);
    assert.ok(result.seen.length >= 2, `the reader saw only ${result.seen.join(', ')}`);
  });

  test('watchLive reports each switch once, by file watch and by polling alone', async () => {
    const registry = await registryWith('v1');
    for (const pollMs of [undefined, 40]) {
      const seen: (string | null)[] = [];
      const watch = watchLive(registry, (v) => seen.push(v), pollMs ? { pollMs } : {});
      const target = liveVersion(registry) === 'v1' ? 'v2' : 'v1';
      if (!existsSync(join(registry, 'v2'))) await publishVersion(join(src, 'v2'), { registry });
      else await useVersion(registry, target);
      const deadline = Date.now() + 3000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 150));
      watch.close();
      assert.deepEqual(seen, [liveVersion(registry)]);
    }
  });

  test('publishSwap reaches subscribeSwap over a real Redis; malformed messages are ignored', async () => {
    const redis = await startRedis();
    const pub = new Redis(redis.url);
    try {
      const got: SwapMessage[] = [];
      const sub = await subscribeSwap(redis.url, (m) => got.push(m), { channel: 'test-swap' });
      await pub.publish('test-swap', 'not json');
      await pub.publish('test-swap', JSON.stringify({ version: '../bad' }));
      assert.equal(await publishSwap(pub, 'v7', { registry: '/models', channel: 'test-swap' }), 1);
      const deadline = Date.now() + 3000;
      while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      sub.close();
      assert.deepEqual(
        got.map((m) => [m.version, m.registry]),
        [['v7', '/models']],
      );
    } finally {
      pub.disconnect();
      await redis.stop();
    }
  });
});

describe('hot swap', () => {
  test('under load: zero failed requests, each finishes on the version it started with, old sessions freed after', async () => {
    const registry = await registryWith('v1');
    await publishVersion(join(src, 'v2'), { registry, makeLive: false });
    const disposed: string[] = [];
    const inUse = new Map<string, number>();
    const swap = await createHotSwap<ort.InferenceSession>({
      registry,
      pollMs: 20,
      load: (dir) => ort.InferenceSession.create(join(dir, 'vq_decoder.onnx'), { logSeverityLevel: 3 }),
      dispose: async (session, version) => {
        assert.equal(inUse.get(version) ?? 0, 0, `${version} disposed while a request still used it`);
        disposed.push(version);
        await session.release();
      },
    });
    const request = (i: number) =>
      swap.use(async (session, version) => {
        inUse.set(version, (inUse.get(version) ?? 0) + 1);
        try {
          await new Promise((r) => setTimeout(r, i % 7));
          const out = await session.run({
            codes: new ort.Tensor('int64', BigInt64Array.from([BigInt(i), 1n]), [1, 2, 1]),
          });
          assert.deepEqual(Array.from(out.features.data as Float32Array), [i, 1]);
          return version;
        } finally {
          inUse.set(version, inUse.get(version)! - 1);
        }
      });
    // Requests keep arriving in waves for as long as the swaps go on, so every swap happens under load.
    let swapping = true;
    const swapper = (async () => {
      for (const v of ['v2', 'v1', 'v2']) {
        await new Promise((r) => setTimeout(r, 15));
        await useVersion(registry, v);
        await swap.refresh();
      }
      swapping = false;
    })();
    const requests: Promise<string>[] = [];
    for (let i = 0; swapping;) {
      for (let k = 0; k < 8; k++) requests.push(request(i++));
      await new Promise((r) => setTimeout(r, 3));
    }
    await swapper;
    const results = await Promise.allSettled(requests);
    const failed = results.filter((r) => r.status === 'rejected');
    assert.equal(failed.length, 0, failed.map((f) => String((f as PromiseRejectedResult).reason)).join('\n'));
    const versions = new Set(results.map((r) => (r as PromiseFulfilledResult<string>).value));
    assert.deepEqual([...versions].sort(), ['v1', 'v2'], 'requests ran on both versions');
    assert.equal(swap.version, 'v2');
    assert.deepEqual(disposed, ['v1', 'v2', 'v1']);
    await swap.close();
    assert.deepEqual(disposed, ['v1', 'v2', 'v1', 'v2']);
  });

  test('a pointer to a damaged version is rejected at load and the current model keeps serving', async () => {
    const registry = await registryWith('v1', 'v2');
    writeFileSync(join(registry, 'v1', 'gpt.onnx'), 'damaged on disk');
    const errors: string[] = [];
    const swap = await createHotSwap({
      registry,
      load: async (_dir, m) => m.version,
      onError: (e, v) => errors.push(`${v}: ${e.message}`),
    });
    writeFileSync(join(registry, 'LIVE'), 'v1\n'); // bypassing `use`, as a hand edit or a half-synced disk would
    await swap.refresh();
    assert.equal(swap.version, 'v2');
    assert.equal(await swap.use(async (model) => model), 'v2');
    assert.match(errors[0], /^v1: cannot load v1: gpt\.onnx: sha256/);
    await swap.close();
    rmSync(join(registry, 'LIVE'));
    await assert.rejects(
      createHotSwap({ registry, load: async () => 1 }),
      /no live model in .*charades models use VERSION/,
    );
  });
});
