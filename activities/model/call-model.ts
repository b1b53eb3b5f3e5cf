/**
 * One Messages API call as an activity makes it: a heartbeat every second while waiting (a kill
 * reaches the activity in the answer to a heartbeat), the activity's cancellation aborting the
 * request, no SDK retries (Temporal's retry policy owns them), and SDK errors classified.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { CancelledBeforeSendError, classifyModelError } from './errors';

export interface ModelClient {
  anthropic: Anthropic;
  requestTimeoutMs: number;
}

export async function callModel(
  client: ModelClient,
  params: Anthropic.MessageCreateParamsNonStreaming,
  ctx: { signal?: AbortSignal; heartbeat?: () => void },
): Promise<Anthropic.Message> {
  // Cancelled while the call was prepared (its budget held): the SDK would not send it, and the
  // cancellation it reports must say so. Checked in the same tick as the send: no event between.
  if (ctx.signal?.aborted) throw new CancelledBeforeSendError(ctx.signal.reason);
  const beat = ctx.heartbeat ? setInterval(ctx.heartbeat, 1000) : undefined;
  try {
    return await client.anthropic.messages.create(params, { signal: ctx.signal, timeout: client.requestTimeoutMs, maxRetries: 0 });
  } catch (err) {
    if (ctx.signal?.aborted) throw ctx.signal.reason ?? err; // cancelled: report the cancellation, not the abort
    throw classifyModelError(err);
  } finally {
    if (beat) clearInterval(beat);
  }
}
