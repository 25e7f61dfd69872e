/**
 * The agent: one chat turn + the conversation so far → a MotionRequest and a reply. It picks the planner
 * (LLM when configured, offline otherwise), falls back to the offline planner when the LLM fails, clamps
 * and validates the plan, attaches Action-GPT descriptions, and returns the next conversation state.
 */
import type { MotionRequest } from '../motion/contracts.js';
import { cleanInput } from './input.js';
import { planOffline } from './offline.js';
import { compilePlan } from './plan.js';
import type { Plan } from './plan.js';
import type { Grounder, Substitution } from './ground.js';
import { composeReply, redactActionText, redactReply, secretValues, substitutionLine, unknownNote } from './reply.js';
import { undoRequest, withRequest, withTurns } from './state.js';
import type { ConversationState } from './state.js';
import type { PlanOutcome, PlannerKind, TurnContext } from './types.js';

/** Longest user message the planners see; the rest is cut so a pasted novel cannot stall a turn. */
export const MAX_USER_TEXT = 2000;

/** An LLM-backed planner (LangChain tools or node-llama-cpp grammar); it throws when the provider fails. */
export interface LlmPlanner {
  /** Provider and model, e.g. "openai:gpt-4o-mini" (used in fallback notes and cache keys). */
  readonly id: string;
  /** The system prompt, so replies quoting it can be caught. */
  readonly systemPrompt: string;
  plan(state: ConversationState, text: string, ctx: TurnContext): Promise<PlanOutcome>;
}

/** Adds Action-GPT descriptions to a phrase (cache first); returns [] when none are available (k = 0). */
export interface DescriptionSource {
  describe(phrase: string, signal?: AbortSignal): Promise<string[]>;
}

export interface AgentConfig {
  /** 'offline' never calls a model; 'llm' requires `llm`; 'auto' (default) uses `llm` when given. */
  planner?: 'offline' | 'llm' | 'auto';
  llm?: LlmPlanner;
  expander?: DescriptionSource;
  /** Extra strings that must never appear in replies (keys the caller holds). */
  secrets?: string[];
  /** Rewrites actions the motion model does not know into ones it does (pantomimes, vocabulary); absent = none. */
  grounder?: Grounder;
}

export interface TurnResult {
  /** What the engine gets: the planned request, grounded in what the model knows. */
  request?: MotionRequest;
  /** The request as the planner understood the user, before grounding replaced actions; absent when nothing was replaced. */
  planned?: MotionRequest;
  /** Actions grounding replaced, and with what (the reply says so in one line). */
  substitutions?: Substitution[];
  reply: string;
  notes: string[];
  planner: PlannerKind;
  /** Why the LLM planner was not used for this turn (it failed); absent when it was, or none is configured. */
  fallback?: string;
  /** The conversation after this turn; persist it and pass it to the next turn. */
  state: ConversationState;
}

export interface Agent {
  readonly plannerKind: PlannerKind;
  turn(conversation: ConversationState, userText: string, ctx?: TurnContext): Promise<TurnResult>;
}

export function createAgent(config: AgentConfig = {}): Agent {
  const mode = config.planner ?? 'auto';
  if (mode === 'llm' && !config.llm)
    throw new Error(
      'agent config: planner is "llm" but no LLM provider is configured (set OPENAI_API_KEY, OPENAI_BASE_URL or LLAMA_MODEL_PATH)',
    );
  const llm = mode === 'offline' ? undefined : config.llm;
  const secrets = () => secretValues(config.secrets ?? []);
  const systemPrompt = llm?.systemPrompt ?? '';

  return {
    plannerKind: llm ? 'llm' : 'offline',
    async turn(conversation, userText, ctx = {}) {
      const text = cleanUserText(userText);
      let outcome: PlanOutcome | undefined;
      let fallback: string | undefined;
      let planner: PlannerKind = 'offline';
      if (llm) {
        try {
          outcome = await llm.plan(conversation, text, ctx);
          planner = 'llm';
        } catch (err) {
          fallback = redactReply(`the language model (${llm.id}) failed: ${shortError(err)}`, '', secrets());
        }
      }
      outcome ??= planOffline(conversation, text, ctx);
      if (outcome.kind === 'plan') {
        const hidden = secrets();
        for (const seg of outcome.plan.segments) seg.action = redactActionText(seg.action, systemPrompt, hidden);
      }
      const result = await finish(conversation, ctx, outcome, config);
      const fallbackNote = fallback
        ? ['(The language model was unavailable, so the built-in planner handled this.)']
        : [];
      const reply = redactReply([result.reply, ...fallbackNote].join(' '), systemPrompt, secrets());
      const state = withTurns(
        result.state,
        { role: 'user', text, ...(ctx.user ? { user: ctx.user } : {}) },
        { role: 'assistant', text: reply },
      );
      return {
        ...(result.request ? { request: result.request } : {}),
        ...(result.planned ? { planned: result.planned, substitutions: result.substitutions } : {}),
        reply,
        notes: result.notes,
        planner,
        ...(fallback ? { fallback } : {}),
        state,
      };
    },
  };
}

interface Finished {
  request?: MotionRequest;
  planned?: MotionRequest;
  substitutions?: Substitution[];
  reply: string;
  notes: string[];
  state: ConversationState;
}

async function finish(
  conversation: ConversationState,
  ctx: TurnContext,
  outcome: PlanOutcome,
  config: AgentConfig,
): Promise<Finished> {
  if (outcome.kind === 'chat') return { reply: outcome.reply, notes: outcome.notes, state: conversation };
  if (outcome.kind === 'undo') {
    const undone = undoRequest(conversation);
    if (!undone) return { reply: "There's nothing to undo yet.", notes: [], state: conversation };
    return {
      request: undone.request,
      reply: composeReply(undone.request, ['back to the previous one'], []),
      notes: [],
      state: undone.state,
    };
  }
  const { plan, request: planned, notes } = compilePlan(outcome.plan);
  const grounding = config.grounder ? await config.grounder.ground(plan, ctx.signal) : undefined;
  const grounded = grounding?.substitutions.length ? compilePlan(grounding.plan) : undefined;
  const request = grounded?.request ?? planned;
  const described = config.expander ? await addDescriptions(request, config.expander, ctx.signal) : request;
  const allNotes = [
    ...outcome.notes,
    ...notes,
    ...(grounded?.notes ?? []),
    ...(grounding?.unknown ?? []).map(unknownNote),
  ];
  const said = grounding?.substitutions.length ? substitutionLine(grounding.substitutions) : undefined;
  const body = outcome.reply
    ? [outcome.reply, ...notes, ...(grounding?.unknown ?? []).map(unknownNote)].join(' ')
    : composeReply(described, outcome.changes, allNotes);
  const reply = said ? `${said} ${body}` : body;
  // the conversation keeps the plan as understood, so "slower" or "same but happier" edit the request and not its stand-in
  const state = withRequest(conversation, plan as Plan, described);
  return {
    request: described,
    ...(grounded ? { planned, substitutions: grounding?.substitutions } : {}),
    reply,
    notes: allNotes,
    state,
  };
}

async function addDescriptions(
  request: MotionRequest,
  expander: DescriptionSource,
  signal?: AbortSignal,
): Promise<MotionRequest> {
  const segments = await Promise.all(
    request.segments.map(async (s) => {
      if (s.descriptions?.length) return s;
      const descriptions = await expander.describe(s.text, signal).catch(() => []);
      return descriptions.length ? { ...s, descriptions: descriptions.slice(0, 8) } : s;
    }),
  );
  return { ...request, segments };
}

/** The message every planner reads: pings removed, decorated Unicode folded, emoji as words, at most MAX_USER_TEXT characters. */
export function cleanUserText(text: string): string {
  const t = cleanInput(String(text ?? ''));
  return t.length > MAX_USER_TEXT ? t.slice(0, MAX_USER_TEXT) : t;
}

function shortError(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  const line = m.split('\n')[0];
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
