/**
 * A scripted fake of the Anthropic Messages API: `POST /v1/messages` answers with the next
 * scripted reply for the agent (found by the task id in the first user message), and every
 * request is recorded so tests can assert what the model saw. The real SDK talks to it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToolCall {
  name: 'bash' | 'str_replace_based_edit_tool';
  input: Record<string, unknown>;
}

/** One scripted answer: tool calls (stop_reason tool_use), or final text (end_turn), or an HTTP error. */
export type ScriptedReply =
  | { tools: ToolCall[]; text?: string; delayMs?: number }
  | { text: string; delayMs?: number }
  | { status: number; body?: unknown; headers?: Record<string, string> };

export interface RecordedRequest {
  key: string;
  body: {
    model: string;
    system?: unknown;
    tools?: { name: string; type?: string }[];
    messages: { role: string; content: unknown }[];
    max_tokens: number;
  };
  headers: http.IncomingHttpHeaders;
}

export class FakeModelServer {
  private server?: http.Server;
  private scripts = new Map<string, ScriptedReply[]>();
  private served = new Map<string, number>();
  readonly requests: RecordedRequest[] = [];
  private idCounter = 0;

  /** Scripts the replies for the agent whose first message names `key` (the task id). */
  script(key: string, replies: ScriptedReply[]): void {
    this.scripts.set(key, replies);
    this.served.set(key, 0);
  }

  requestsFor(key: string): RecordedRequest[] {
    return this.requests.filter((r) => r.key === key);
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body'];
    const key = this.keyOf(body);
    this.requests.push({ key, body, headers: req.headers });
    const script = this.scripts.get(key);
    const index = this.served.get(key) ?? 0;
    this.served.set(key, index + 1);
    const reply: ScriptedReply = script?.[index] ?? { text: 'Done.' };
    if ('delayMs' in reply && reply.delayMs) {
      // Stop waiting (and let the process exit) as soon as the client hangs up.
      let timer: NodeJS.Timeout | undefined;
      const closed = new Promise<void>((r) => req.socket.once('close', () => r()));
      await Promise.race([new Promise((r) => (timer = setTimeout(r, reply.delayMs))), closed]);
      clearTimeout(timer);
      if (req.socket.destroyed) return;
    }
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body ?? { type: 'error', error: { type: 'api_error', message: 'scripted failure' } }));
      return;
    }
    const content: unknown[] = [];
    if (reply.text) content.push({ type: 'text', text: reply.text });
    const toolCalls = 'tools' in reply ? reply.tools : [];
    for (const t of toolCalls) content.push({ type: 'tool_use', id: `toolu_${++this.idCounter}`, name: t.name, input: t.input });
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${this.idCounter}` });
    res.end(
      JSON.stringify({
        id: `msg_${++this.idCounter}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: toolCalls.length ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 100, output_tokens: 50 },
      }),
    );
  }

  private keyOf(body: RecordedRequest['body']): string {
    const first = body.messages[0]?.content;
    const text = typeof first === 'string' ? first : JSON.stringify(first ?? '');
    return /Task: (\S+)/.exec(text)?.[1] ?? 'unknown';
  }
}
