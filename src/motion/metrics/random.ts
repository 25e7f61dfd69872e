/**
 * A tiny seeded generator (mulberry32) so the sampling inside Diversity, MultiModality and R-precision is
 * reproducible and identical in TypeScript and in the trainer (`trainer/metrics.py` implements the same
 * generator bit for bit), letting `charades eval` and the Python evaluation agree exactly.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded Fisher–Yates permutation of 0..n−1 (the i-th draw swaps position i with a later one). */
export function permutation(n: number, rand: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n - 1; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const tmp = p[i];
    p[i] = p[j];
    p[j] = tmp;
  }
  return p;
}

/** k distinct indices from 0..n−1 (the first k of a permutation), like numpy's choice(n, k, replace=False). */
export function sampleWithoutReplacement(n: number, k: number, rand: () => number): number[] {
  if (k > n) throw new Error(`cannot draw ${k} distinct indices from ${n}`);
  return permutation(n, rand).slice(0, k);
}
