/**
 * Button actions are deterministic edits of the previous request, so they need no planner call:
 * Reroll = new seed, Variations = 4 samples, Slower/Faster = playback speed, Continue = a new segment
 * that starts where the last motion ended.
 */
import { LIMITS, parseMotionRequest } from '../motion/index.js';
import type { MotionRequest } from '../motion/index.js';
import type { JobAction } from './types.js';
import { PermanentJobError } from './types.js';

/** Slower/Faster multiply the playback speed by this (0.75× → a 4 s clip plays in 5.3 s). */
export const SPEED_STEP = 0.75;

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

function totalSeconds(r: MotionRequest): number {
  return r.segments.reduce((s, x) => s + x.seconds, 0) / r.speed;
}

/** Applies a button action to the previous request; `continueText` is the new segment's action for Continue. */
export function applyAction(
  last: MotionRequest,
  action: Exclude<JobAction, 'prompt'>,
  options: { seed?: number; continueText?: string; continueFromId?: string } = {},
): MotionRequest {
  const seed = options.seed ?? randomSeed();
  switch (action) {
    case 'reroll':
      return parseMotionRequest({ ...last, samples: 1, seed });
    case 'variations':
      return parseMotionRequest({ ...last, samples: 4, seed });
    case 'slower':
    case 'faster': {
      const speed = Math.min(
        4,
        Math.max(0.25, action === 'slower' ? last.speed * SPEED_STEP : last.speed / SPEED_STEP),
      );
      const next = { ...last, speed: Math.round(speed * 1000) / 1000 };
      if (totalSeconds(next) > LIMITS.maxRequestSeconds)
        throw new PermanentJobError(
          `slowing down further would make the clip longer than ${LIMITS.maxRequestSeconds} s`,
        );
      return parseMotionRequest(next);
    }
    case 'continue': {
      const text = options.continueText?.trim() || last.segments[last.segments.length - 1].text;
      const seconds = Math.min(last.segments[last.segments.length - 1].seconds, LIMITS.maxSegmentSeconds);
      const control = options.continueFromId ? { continueFrom: { id: options.continueFromId } } : undefined;
      return parseMotionRequest({
        ...last,
        samples: 1,
        seed,
        segments: [{ text, seconds, ...(control ? { control } : {}) }],
      });
    }
  }
}
