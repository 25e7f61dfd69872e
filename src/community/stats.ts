/** Small statistics the community report needs: the Wilson score interval. */

export interface Proportion {
  successes: number;
  trials: number;
  /** successes / trials; null without trials. */
  rate: number | null;
  /** 95 % Wilson score interval; null without trials. */
  ci95: [number, number] | null;
}

const Z95 = 1.959963984540054;

/**
 * Wilson's interval rather than the normal approximation: community samples are small (a handful of
 * votes per phrase) and often all-or-nothing, where p ± z·√(p(1−p)/n) collapses to a zero-width interval.
 */
export function wilson(successes: number, trials: number, z = Z95): Proportion {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || trials < 0 || successes > trials) {
    throw new Error(`wilson: need whole numbers 0 ≤ successes ≤ trials, got ${successes}/${trials}`);
  }
  if (trials === 0) return { successes, trials, rate: null, ci95: null };
  const p = successes / trials;
  const z2 = z * z;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (z / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { successes, trials, rate: p, ci95: [Math.max(0, centre - half), Math.min(1, centre + half)] };
}

export function meanOf(xs: readonly number[]): number | null {
  const finite = xs.filter(Number.isFinite);
  return finite.length ? finite.reduce((s, x) => s + x, 0) / finite.length : null;
}
