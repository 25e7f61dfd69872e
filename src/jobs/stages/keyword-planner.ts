/**
 * The interim planner used when the agent module is not installed (or `planner: keyword`): it reads
 * durations, "then" sequences and the follow-ups slower / faster / again / continue with plain rules.
 * It does no language understanding; the agent's LLM planner replaces it as soon as it exists.
 */
import { LIMITS, parseMotionRequest } from '../../motion/index.js';
import type { MotionRequest } from '../../motion/index.js';
import { applyAction, randomSeed } from '../actions.js';
import type { PlanInput, PlanOutput, PlannerStage } from '../types.js';

const DEFAULT_SECONDS = 4;

const FOLLOW_UPS: { pattern: RegExp; action: 'slower' | 'faster' | 'reroll' | 'continue' }[] = [
  { pattern: /^(?:(?:a bit|much|even|now)\s+)?(?:slower|slow(?:er)? (?:it )?down)\b/i, action: 'slower' },
  { pattern: /^(?:(?:a bit|much|even|now)\s+)?(?:faster|speed (?:it )?up|quicker)\b/i, action: 'faster' },
  { pattern: /^(?:again|reroll|another(?: one| take)?|one more)\b/i, action: 'reroll' },
  { pattern: /^(?:continue|and then|then)\b/i, action: 'continue' },
];

const LEAD_INS = /^(?:please\s+)?(?:(?:can you\s+)?make (?:a |the )?(?:person|man|woman|guy|character|him|her|them)\s+|show (?:me )?(?:a |the )?(?:person|man|woman)\s+)/i;

function parseSeconds(text: string): { seconds?: number; rest: string } {
  const m = /\b(?:for\s+)?(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)\b/i.exec(text);
  if (!m) return { rest: text };
  return { seconds: Number(m[1]), rest: (text.slice(0, m.index) + text.slice(m.index + m[0].length)).replace(/\s{2,}/g, ' ').trim() };
}

function cleanAction(text: string): string {
  return text.replace(LEAD_INS, '').replace(/[.!?\s]+$/, '').trim();
}

/** "wave, then sit down for 3 seconds" → two segments; a duration applies to the part it is written in. */
export function planFromText(text: string, seed = randomSeed()): MotionRequest {
  const parts = text
    .split(/\s*(?:,\s*(?:and\s+)?then\b|\band then\b|\bthen\b|;)\s*/i)
    .map((p) => p.trim())
    .filter(Boolean)
    .slice(0, LIMITS.maxSegments);
  const segments = parts.map((part) => {
    const { seconds, rest } = parseSeconds(part);
    const action = cleanAction(rest);
    return { text: action || cleanAction(part), seconds: Math.min(LIMITS.maxSegmentSeconds, Math.max(LIMITS.minSegmentSeconds, seconds ?? DEFAULT_SECONDS)) };
  });
  if (segments.length === 0 || segments.every((s) => !s.text)) throw new Error('the prompt is empty: say what the person should do, e.g. "act like a dog"');
  return parseMotionRequest({ segments, samples: 1, seed });
}

export function createKeywordPlanner(): PlannerStage {
  return {
    name: 'keyword',
    async plan(input: PlanInput): Promise<PlanOutput> {
      const text = input.text.trim();
      const follow = FOLLOW_UPS.find((f) => f.pattern.test(text));
      if (follow && input.lastRequest) {
        const rest = text.replace(follow.pattern, '').replace(/^[\s,:-]+/, '');
        const request = applyAction(input.lastRequest, follow.action, { continueText: rest || undefined });
        return { request, reply: `${follow.action}: ${request.segments.map((s) => s.text).join(', then ')}`, notes: [`follow-up "${follow.action}" applied to the previous request`], planner: 'keyword', state: input.state };
      }
      const request = planFromText(text);
      const understood = request.segments.map((s) => `${s.text} (${s.seconds} s)`).join(', then ');
      return { request, reply: `Acting out: ${understood}`, notes: ['planned by the keyword rules (no agent installed)'], planner: 'keyword', state: input.state };
    },
  };
}
