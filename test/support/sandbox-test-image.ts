/** The busybox image the sandbox tests and benchmark run, built from the host's static busybox. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export const TEST_IMAGE = 'orchestrator-sandbox-test:busybox';

const BUILD_SCRIPT = path.resolve(__dirname, '../../images/build-test-image.sh');

/** Builds the test image unless it exists (the script is idempotent). */
export async function ensureTestImage(): Promise<void> {
  await promisify(execFile)('bash', [BUILD_SCRIPT], { env: { ...process.env, SANDBOX_TEST_IMAGE: TEST_IMAGE } });
}
