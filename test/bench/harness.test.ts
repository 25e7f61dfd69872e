import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable, percentile, report, rssMb, summarize, timeIt } from '../../bench/harness.js';

test('percentile interpolates linearly between ranks like numpy', () => {
  assert.equal(percentile([3, 1, 2, 4], 50), 2.5);
  assert.equal(percentile([10], 95), 10);
  assert.equal(percentile([0, 10], 95), 9.5);
  assert.equal(percentile([5, 1, 9], 0), 1);
  assert.equal(percentile([5, 1, 9], 100), 9);
});

test('percentile and summarize reject empty lists and bad p', () => {
  assert.throws(() => percentile([], 50), /empty/);
  assert.throws(() => percentile([1], 101), /0–100/);
  assert.throws(() => summarize([]), /no values/);
});

test('summarize reports count, mean, p50, p95, min and max', () => {
  const { p95, ...rest } = summarize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(rest, { n: 10, mean: 5.5, p50: 5.5, min: 1, max: 10 });
  assert.ok(Math.abs(p95 - 9.55) < 1e-12, `p95 ${p95}`);
});

test('timeIt awaits async work, runs warmup + runs times, and times only the runs', async () => {
  let calls = 0;
  const ms = await timeIt(
    async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
    },
    { warmup: 2, runs: 3 },
  );
  assert.equal(calls, 5);
  assert.equal(ms.length, 3);
  for (const m of ms) assert.ok(m >= 4, `expected ≥ 4 ms, got ${m}`);
  await assert.rejects(
    timeIt(() => 0, { runs: 0 }),
    /runs must be an integer ≥ 1/,
  );
  await assert.rejects(
    timeIt(() => 0, { warmup: -1 }),
    /warmup must be an integer ≥ 0/,
  );
});

test('rssMb is a plausible resident size', () => {
  const mb = rssMb();
  assert.ok(mb > 10 && mb < 100_000, `rss ${mb} MiB`);
});

test('formatTable aligns columns from the union of keys', () => {
  const t = formatTable([
    { task: 'text', p50: 12.3456 },
    { task: 'keys-long', p95: 1000.25 },
  ]);
  const lines = t.split('\n');
  assert.equal(lines[0], 'task       p50     p95');
  assert.equal(lines[2], 'text       12.346');
  assert.equal(lines[3], 'keys-long          1000.3');
});

test('report prints one JSON object on stdout and the table on stderr', () => {
  const out: string[] = [];
  const err: string[] = [];
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const stderrWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
  try {
    report('demo', { p50: 1.5 }, [{ case: 'a', ms: 1.5 }]);
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
  assert.equal(out.length, 1);
  const obj = JSON.parse(out[0]) as { bench: string; p50: number; machine: { cpus: number; node: string } };
  assert.equal(obj.bench, 'demo');
  assert.equal(obj.p50, 1.5);
  assert.equal(obj.machine.node, process.version);
  assert.ok(obj.machine.cpus >= 1);
  assert.equal(err.join(''), '# demo\ncase  ms\n----  -----\na     1.500\n');
});
