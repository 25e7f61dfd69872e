// The agent module: chat turn + conversation → MotionRequest and reply (offline parser or LLM tools),
// Action-GPT expansion with a persistent cache, conversation memory, and the agent's CLI commands.
export { createAgent, cleanUserText, MAX_USER_TEXT } from './agent.js';
export type { Agent, AgentConfig, DescriptionSource, LlmPlanner, TurnResult } from './agent.js';
export type { PlanOutcome, PlannerKind, TurnContext } from './types.js';
export {
  ConversationStateSchema,
  InMemoryConversations,
  MEMORY,
  adoptRequest,
  emptyConversation,
  lastMotionRef,
  parseConversationState,
  pickSample,
  recordMotion,
} from './state.js';
export type { ConversationState, ProducedMotion, Turn } from './state.js';
export { ChatSession } from './session.js';
export { PlanSchema, compilePlan, segmentText } from './plan.js';
export type { Plan, PlanSegment } from './plan.js';
export { planOffline, HELP_REPLY } from './offline.js';
export { SYSTEM_PROMPT, createLangChainPlanner, plannerTools } from './llm.js';
export { createLlamaPlanner, GRAMMAR_SCHEMA } from './llama.js';
export { ACTION_GPT, ActionGptExpander, actionGptPrompt, phraseKey } from './expander.js';
export type { DescriptionModel, DescribeResult, ExpanderOptions } from './expander.js';
export {
  createAgentFromEnv,
  createDescriptionModel,
  createLlmPlanner,
  createOpenAIChatModel,
  llmSettingsFromEnv,
} from './providers.js';
export type { ConfiguredAgent, LlmSettings, ProviderKind } from './providers.js';
export { evaluate, loadEvalSet } from './eval.js';
export type { EvalCase, EvalReport } from './eval.js';
export { describeRequest, replyAfterGeneration } from './reply.js';
export { cleanInput, stripMentions } from './input.js';
export { GROUNDING_THRESHOLD, createGrounder } from './ground.js';
export type { Grounder, Grounding, GroundingModel, Knowledge, Substitution, UnknownAction } from './ground.js';
export { PANTOMIMES, findPantomime } from './pantomimes.js';
export { registerAgentCommands } from './cli.js';
