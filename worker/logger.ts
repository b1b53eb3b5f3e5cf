/**
 * The service's loggers. Their lines carry what agents chose (paths their work named, git's words
 * about them, a request's text in an error), so each one passes the secret scanner's redaction
 * before it is written: a secret in a name stays out of the log, whatever the level and whichever
 * call logged it, Temporal's SDK included.
 */
import { DefaultLogger, type LogLevel, type Logger as TemporalLogger } from '@temporalio/worker';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { plainText } from '../domain/plain-text';
import { redactSecrets } from '../scanner';

type Out = { write(line: string): unknown };

export function createRedactingLogger(service: string, options: LoggerOptions, out: Out = process.stdout): Logger {
  return pino({ ...options, base: { service } }, { write: (line: string) => out.write(endedAsBefore(redactSecrets(plainStrings(line)), line)) });
}

/** A line whose end redaction withheld (too slow to redact, scanner/redaction-budget.ts) still ends the line. */
function endedAsBefore(redacted: string, line: string): string {
  return line.endsWith('\n') && !redacted.endsWith('\n') ? `${redacted}\n` : redacted;
}

export function createWorkerLogger(level: string, out: Out = process.stdout): Logger {
  return createRedactingLogger('worker', { level }, out);
}

const TEMPORAL_LEVELS: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' };

/**
 * Temporal's own logs (the SDK's and core's, and what workflows and activities log through it) as
 * lines of `log`, redacted like every other: the SDK would write them to stderr as they are.
 */
export function temporalLogger(log: Logger): TemporalLogger {
  return new DefaultLogger(TEMPORAL_LEVELS[log.level] ?? 'ERROR', ({ level, message, meta }) => {
    const fields = Object.fromEntries(Object.entries(meta ?? {}).map(([k, v]) => [k, v instanceof Error ? pino.stdSerializers.err(v) : v]));
    log[level.toLowerCase() as Lowercase<LogLevel>]({ ...fields, source: 'temporal' }, message);
  });
}

/** A JSON string of a line, escapes and all. */
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;
/** What a line holds when one of its strings has a control character (escaped, `\u001b`, or raw: DEL, C1) or an invisible one (plain-text.ts). */
const MAY_HOLD_CONTROL = /\\u00|[\u007f-\u009f\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/**
 * The line with each of its strings made plain. pino writes an escape or control character as
 * `\u001b`, so one inside a secret hides it from redaction, while a reader that decodes the line
 * (jq -r, pino-pretty) prints it and a terminal shows the secret whole. String by string, so an
 * escape left open cannot swallow the rest of the line.
 */
function plainStrings(line: string): string {
  if (!MAY_HOLD_CONTROL.test(line)) return line;
  return line.replace(JSON_STRING, (token) => {
    let value: string;
    try {
      value = JSON.parse(token) as string;
    } catch {
      return token; // not a string of the line's JSON (a line pino did not write): as it is
    }
    const plain = plainText(value);
    return plain === value ? token : JSON.stringify(plain);
  });
}
