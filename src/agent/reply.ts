/**
 * User-facing reply text, and the last line of defence for what leaves the agent: replies are redacted
 * of secrets and of the system prompt whatever produced them (a model that was talked into quoting them).
 */
import type { MotionRequest, PoseRef, Provenance } from '../motion/contracts.js';
import type { Substitution, UnknownAction } from './ground.js';
import { closestWellKnown, isWellKnown } from './wellKnown.js';

type Fit = NonNullable<Provenance['fit']>;
import { stripMentions } from './input.js';

const fmt = (x: number) => `${Math.round(x * 10) / 10}`;
/** Speeds are shown as set (0.25×, 1.5×, 0.125×), not rounded to one decimal: "0.3×" for 0.25× misled users. */
const fmtSpeed = (x: number) => `${Math.round(x * 1000) / 1000}`;

/** Named poses in words ("on all fours", "sitting on a chair"); the others read as they are named. */
const POSE_WORDS: Partial<Record<string, string>> = {
  't-pose': 'a t-pose',
  'a-pose': 'an a-pose',
  'on-all-fours': 'on all fours',
  'kneeling-up': 'kneeling upright',
  'sitting-floor': 'sitting on the floor',
  'sitting-chair': 'sitting on a chair',
  'lying-back': 'lying on the back',
  'lying-front': 'lying on the front',
  'arms-raised': 'with the arms raised',
  'reaching-down': 'bent down with a hand at the floor',
  'kick-left': 'kicking with the left leg',
  'kick-right': 'kicking with the right leg',
  'knee-up-left': 'with the left knee raised',
  'knee-up-right': 'with the right knee raised',
  'punch-left': 'punching with the left fist',
  'punch-right': 'punching with the right fist',
  'arms-forward': 'with the arms held forward',
  'hands-together': 'with the hands together',
  trunk: 'with the hands joined low in front',
  guard: 'in a boxing guard',
};

function poseWords(p: PoseRef): string {
  if (p.kind === 'named') return POSE_WORDS[p.name] ?? p.name;
  if (p.kind === 'frame') return p.frame === -1 ? 'where the last clip ended' : `frame ${p.frame} of an earlier clip`;
  return p.label ? `your pose “${p.label}”` : 'your uploaded pose';
}

/** "wave the right hand (3 s), then sit down (3 s) — starting from a t-pose, ending sitting. 6 s." */
export function describeRequest(r: MotionRequest): string {
  const parts = r.segments.map((s) => `${s.text} (${fmt(s.seconds)} s)`);
  const extras: string[] = [];
  const first = r.segments[0].control;
  const last = r.segments[r.segments.length - 1].control;
  if (first?.continueFrom) extras.push('continuing the last clip');
  if (first?.init) extras.push(`starting from ${poseWords(first.init)}`);
  if (last?.last)
    extras.push(`ending ${last.last.kind === 'named' ? poseWords(last.last) : `in ${poseWords(last.last)}`}`);
  const keyCount = r.segments.reduce((n, s) => n + (s.control?.keys?.length ?? 0), 0);
  if (keyCount) extras.push(`${keyCount} key pose${keyCount > 1 ? 's' : ''}`);
  if (r.speed !== 1) extras.push(`at ${fmtSpeed(r.speed)}× speed`);
  if (r.samples > 1) extras.push(`${r.samples} variations`);
  const total = r.segments.reduce((s, x) => s + x.seconds, 0) / r.speed;
  return `${parts.join(', then ')}${extras.length ? ` — ${extras.join(', ')}` : ''}. ${fmt(total)} s in all.`;
}

export function composeReply(request: MotionRequest, changes: string[], notes: string[]): string {
  const head = changes.length ? `${capitalise(changes.join(', '))}: ` : "Here's a person acting it out: ";
  return [head + describeRequest(request), ...notes].join(' ');
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The words of the plan-time warning, so the reply after generation does not warn twice. */
const UNKNOWN_MARK = 'I have no motion data close to';

/** One line for everything grounding replaced: "No dog data: crawling on all fours, then …". */
export function substitutionLine(subs: readonly Pick<Substitution, 'summary'>[]): string {
  const unique = [...new Set(subs.map((s) => s.summary))];
  return `${capitalise(unique.join('; '))}.`;
}

/** A phrase the model knows nothing close to, said plainly with the nearest thing it does well. */
export function unknownNote(u: UnknownAction): string {
  return `${UNKNOWN_MARK} “${u.asked}”, so it may not show; the closest thing I do well is “${u.closest}”.`;
}

/**
 * The reply once the motion exists: when the best of the generated candidates still scored below the model's
 * confidence threshold (provenance.fit.unsure), it says so and offers the closest thing the model does well.
 */
export function replyAfterGeneration(reply: string, request: MotionRequest | undefined, fit: Fit | undefined): string {
  if (!fit?.unsure || reply.includes(UNKNOWN_MARK)) return reply;
  const asked = request?.segments.map((s) => s.text).join(', then ') ?? 'this';
  const score = `match ${fit.score.toFixed(2)}, below ${fit.threshold.toFixed(2)}, best of ${fit.candidates}`;
  const offer = request ? closestWellKnown(request) : undefined;
  const next =
    request && isWellKnown(request)
      ? '; another take (Reroll) may show it better'
      : offer
        ? `; something I do well that comes close: “${offer}”`
        : '';
  return `${reply} I'm not sure this clip shows “${asked}” well (${score})${next}.`;
}

/** Secrets worth hiding: configured keys plus every environment value whose name says it is one. */
export function secretValues(extra: Array<string | undefined> = []): string[] {
  const fromEnv = Object.entries(process.env)
    .filter(([k, v]) => v && /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i.test(k))
    .map(([, v]) => v as string);
  return [...fromEnv, ...extra].filter((v): v is string => typeof v === 'string' && v.length >= 6);
}

const KEY_SHAPES =
  /\b(sk-[A-Za-z0-9_-]{12,}|xox[abp]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{20,}|[MN][A-Za-z\d]{23,}\.[\w-]{6}\.[\w-]{27,})\b/g;

/**
 * Removes secrets and any quotation of the system prompt. A reply that quotes 6+ consecutive words of the
 * system prompt is replaced whole: paraphrase-proofing is impossible, verbatim leaks are the common case.
 */
export function redactReply(reply: string, systemPrompt: string, secrets: string[]): string {
  let out = stripMentions(reply);
  for (const s of secrets) out = out.split(s).join('[redacted]');
  out = out.replace(KEY_SHAPES, '[redacted]');
  if (quotesPrompt(out, systemPrompt))
    return "I can't share how I'm set up, but I'm happy to act something out — try “wave, then sit down”.";
  return out.length > 1500 ? `${out.slice(0, 1500)}…` : out;
}

/** Action texts go to the motion model and into captions: secrets and prompt quotations become "stand still". */
export function redactActionText(text: string, systemPrompt: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join(' ');
  out = out.replace(KEY_SHAPES, ' ').replace(/\s+/g, ' ').trim();
  return !out || quotesPrompt(out, systemPrompt) ? 'stand still' : out;
}

function quotesPrompt(reply: string, prompt: string): boolean {
  if (!prompt) return false;
  const words = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9 ]+/g, ' ')
      .split(/\s+/)
      .filter(Boolean);
  const p = words(prompt);
  const r = ` ${words(reply).join(' ')} `;
  for (let i = 0; i + 6 <= p.length; i++) if (r.includes(` ${p.slice(i, i + 6).join(' ')} `)) return true;
  return false;
}
