/**
 * The worker's logger. Its lines carry what agents chose (paths their work named, git's words
 * about them), so each one passes the secret scanner's redaction before it is written: a secret
 * in a name stays out of the log, whatever the level and whichever call logged it.
 */
import pino, { type Logger } from 'pino';
import { redactSecrets } from '../scanner';

export function createWorkerLogger(level: string, out: { write(line: string): unknown } = process.stdout): Logger {
  return pino({ level, base: { service: 'worker' } }, { write: (line: string) => out.write(redactSecrets(line)) });
}
