/**
 * Secrets in request text. A spawn's task is the workflow's input, so a secret in it would be kept
 * in Temporal's history, the transcript and every model request; a kill reason goes to the audit
 * stream and the events. Such text is refused, naming the kind of secret, never echoing it.
 */
import { RULES, redactSecrets, scanText } from '../scanner';

/** Why `text` may not be accepted, or undefined when it holds no secret the scanner knows. */
export function secretInText(text: string): string | undefined {
  // redactSecrets decides: unlike scanText it honours no inline allow marker the sender could add.
  // With the scanner's rules, not redaction's boundary-free ones: a task naming `disk_test_…` (Stripe's sk_test_ inside) is a task, not a secret.
  if (redactSecrets(text, RULES) === text) return undefined;
  const finding = scanText(text, 'request').findings[0];
  const what = finding ? `${finding.description}, line ${finding.line}` : 'a credential';
  return `must not hold a secret (${what}): the task is kept in the run's history; give credentials to the worker's configuration instead`;
}
