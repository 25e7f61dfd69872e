/**
 * One conversation held in memory, for the REPL (`charades chat`) and scripts: it feeds each turn the
 * state the previous one returned, and records the motions produced so follow-ups can refer to them.
 */
import type { Agent, TurnResult } from './agent.js';
import { InMemoryConversations, pickSample, recordMotion } from './state.js';
import type { ConversationState } from './state.js';
import type { TurnContext } from './types.js';

export class ChatSession {
  constructor(
    private readonly agent: Agent,
    private readonly store = new InMemoryConversations(),
    readonly id = 'repl',
  ) {}

  get state(): ConversationState {
    return this.store.get(this.id);
  }

  async send(text: string, ctx: TurnContext = {}): Promise<TurnResult> {
    const result = await this.agent.turn(this.state, text, ctx);
    this.store.set(this.id, result.state);
    return result;
  }

  /** Call after generating the last request: one motion id per sample. */
  recordMotion(ids: string[]): void {
    this.store.set(this.id, recordMotion(this.state, ids));
  }

  /** The sample the user liked; "continue" and "from the last frame" then refer to it. */
  pick(index: number): void {
    this.store.set(this.id, pickSample(this.state, index));
  }

  reset(): void {
    this.store.delete(this.id);
  }
}
