/**
 * Client for the Quality Coordinator, which receives gate results and may veto a commit or push.
 *
 * ## Request
 * `POST <COORDINATOR_URL>/api/quality-gates/report`
 *
 * Headers:
 * - `Content-Type: application/json`
 * - `Idempotency-Key: <agentId>:<phase>:<commitSha, or the gates round when there is no commit>`;
 *   retries of one report carry the same key, so the coordinator can count each report once.
 *   (A report with neither falls back to `body-<sha256 of the body, 16 hex>`, equally stable.)
 *
 * Body:
 * ```json
 * {
 *   "agentId": "3f2b9c1e-…",                 // UUID
 *   "taskId": "T-123",
 *   "agentType": "worker",                   // worker | reviewer | tester
 *   "phase": "pre-commit",                   // pre-commit | post-commit
 *   "commitSha": "9fceb02…",                 // post-commit only
 *   "branch": "agent/T-123/3f2b9c1e",
 *   "round": 1,                              // 1-based gates round of this run (optional)
 *   "gates": [
 *     {
 *       "name": "tests",                     // typecheck | lint | tests | coverage | build | integration | review
 *       "outcome": "failed",                 // passed | failed | missing | timeout | error
 *       "durationMs": 5120,
 *       "commitSha": "9fceb02…",             // optional
 *       "command": "npm run --silent test",  // optional
 *       "exitCode": 1,                       // optional; null when killed by a signal
 *       "outputTail": "…",                   // optional; last ≤60 lines / 4 KB, secrets redacted
 *       "detail": "…"                        // optional
 *     }
 *   ]
 * }
 * ```
 *
 * ## Response
 * 2xx with `{ "approved": boolean, "reason"?: string }`; `approved: false` is a veto.
 *
 * ## Failures
 * - Network errors, timeouts, 408, 429 and 5xx: `CoordinatorUnavailableError` (`retryable = true`);
 *   the activity retries with backoff, so a coordinator that is down delays the report, never loses it.
 * - Any other 4xx, and a 2xx whose body is not the shape above: `CoordinatorRejectedError`
 *   (`type = 'CoordinatorRejected'`, `retryable = false`).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AgentType } from '../../domain/agent';
import type { GateResult } from '../../domain/gates';
import { scrubCredentials } from '../git/redact';
import { CoordinatorRejectedError, CoordinatorUnavailableError } from './errors';

export const COORDINATOR_REPORT_PATH = '/api/quality-gates/report';

export interface GateReportRequest {
  agentId: string;
  taskId: string;
  agentType: AgentType;
  phase: 'pre-commit' | 'post-commit';
  commitSha?: string;
  branch: string;
  /**
   * 1-based gates round; keys the report when there is no commit yet. Without it, two pre-commit
   * reports of one agent differ only by content, so the key falls back to a hash of the body.
   */
  round?: number;
  gates: GateResult[];
}

export interface CoordinatorVerdict {
  approved: boolean;
  reason?: string;
}

const verdictSchema = z.object({ approved: z.boolean(), reason: z.string().optional() });

export interface CoordinatorClientOptions {
  /** `COORDINATOR_URL`; a path prefix is kept. */
  baseUrl: string;
  /** Per request (`COORDINATOR_TIMEOUT_SECONDS` × 1000). */
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface CoordinatorClient {
  /** Sends one gate report; resolves to the verdict, throws a classified error otherwise. */
  reportGates(report: GateReportRequest, options?: { signal?: AbortSignal }): Promise<CoordinatorVerdict>;
}

export function createCoordinatorClient(options: CoordinatorClientOptions): CoordinatorClient {
  const doFetch = options.fetch ?? fetch;
  const url = options.baseUrl.replace(/\/+$/, '') + COORDINATOR_REPORT_PATH;
  const secrets = passwordForms(options.baseUrl);

  return {
    async reportGates(report, { signal } = {}) {
      const body = JSON.stringify(report);
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let response: Response;
      let text: string;
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json',
            'Idempotency-Key': idempotencyKey(report, body),
          },
          body,
          signal: combined,
        });
        text = await response.text();
      } catch (err) {
        // The caller's cancellation is not a coordinator failure: let it through unchanged.
        signal?.throwIfAborted();
        if (timeout.aborted) {
          throw new CoordinatorUnavailableError(`coordinator did not answer within ${options.timeoutMs} ms`);
        }
        // fetch's errors may quote the URL, credentials included; the message reaches failures, logs and state.
        throw new CoordinatorUnavailableError(`coordinator unreachable: ${scrubCredentials(describeNetworkError(err), secrets)}`);
      }
      return verdictFrom(response.status, text);
    },
  };
}

/** `<agentId>:<phase>:<commitSha or round>`: the same for every retry of one report. */
export function idempotencyKey(report: Pick<GateReportRequest, 'agentId' | 'phase' | 'commitSha' | 'round'>, body: string): string {
  const discriminator = report.commitSha ?? report.round ?? `body-${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
  return `${report.agentId}:${report.phase}:${discriminator}`;
}

function verdictFrom(status: number, text: string): CoordinatorVerdict {
  if (status === 408 || status === 429 || status >= 500) {
    throw new CoordinatorUnavailableError(`coordinator answered ${status}${snippet(text)}`, status);
  }
  if (status < 200 || status >= 300) {
    throw new CoordinatorRejectedError(`coordinator rejected the report with ${status}${snippet(text)}`, status);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CoordinatorRejectedError(`coordinator answered ${status} with a body that is not JSON${snippet(text)}`, status);
  }
  const parsed = verdictSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CoordinatorRejectedError(
      `coordinator answered ${status} without a valid verdict (${issue.path.join('.') || 'body'}: ${issue.message})`,
      status,
    );
  }
  return parsed.data.reason === undefined ? { approved: parsed.data.approved } : parsed.data;
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

/** The password in `baseUrl` as written and decoded, if any (config refuses one; this is defence in depth). */
function passwordForms(baseUrl: string): string[] {
  const password = URL.canParse(baseUrl) ? new URL(baseUrl).password : '';
  if (!password) return [];
  try {
    return [password, decodeURIComponent(password)];
  } catch {
    return [password]; // malformed escapes: the form as written is all there is
  }
}

function snippet(text: string): string {
  const trimmed = text.trim();
  return trimmed ? `: ${trimmed.length > 200 ? `${trimmed.slice(0, 200)}…` : trimmed}` : '';
}
