/**
 * A local OpenAI-compatible chat-completions server on 127.0.0.1 for tests: it answers from a script and
 * records every request body, so tests drive the real `openai` client (through ChatOpenAI) over HTTP.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedReply =
  | { toolCalls: { name: string; args: Record<string, unknown> }[] }
  | { content: string; delayMs?: number }
  | { status: number; body?: string };

export interface OpenAIServer {
  baseURL: string;
  requests: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** `reply` gets each request body and returns what to answer; a script array is consumed in order. */
export async function startOpenAIServer(
  reply: ScriptedReply[] | ((body: Record<string, unknown>) => ScriptedReply),
): Promise<OpenAIServer> {
  const requests: Array<Record<string, unknown>> = [];
  let i = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      requests.push(body);
      if (req.url !== '/v1/chat/completions') {
        res.writeHead(404).end('{"error":{"message":"not found"}}');
        return;
      }
      const next = typeof reply === 'function' ? reply(body) : reply[Math.min(i++, reply.length - 1)];
      if ('status' in next) {
        res
          .writeHead(next.status, { 'content-type': 'application/json' })
          .end(next.body ?? '{"error":{"message":"scripted failure"}}');
        return;
      }
      const delay = 'delayMs' in next ? (next.delayMs ?? 0) : 0;
      const message =
        'toolCalls' in next
          ? {
              role: 'assistant',
              content: null,
              tool_calls: next.toolCalls.map((t, k) => ({
                id: `call_${i}_${k}`,
                type: 'function',
                function: { name: t.name, arguments: JSON.stringify(t.args) },
              })),
            }
          : { role: 'assistant', content: next.content };
      const send = () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${i}`,
            object: 'chat.completion',
            created: 1_700_000_000,
            model: String(body.model ?? 'test-model'),
            choices: [{ index: 0, message, finish_reason: 'toolCalls' in next ? 'tool_calls' : 'stop' }],
            usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
          }),
        );
      if (delay) setTimeout(() => !res.destroyed && send(), delay).unref();
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
