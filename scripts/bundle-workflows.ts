/**
 * Bundles workflows/ once, ahead of time: `npm run bundle:workflows -- OUT.js`. A worker started
 * with WORKFLOW_BUNDLE_PATH=OUT.js loads it instead of running webpack at every start (tens of
 * seconds on a small machine), which is what lets a replacement host join quickly.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main(out: string | undefined): Promise<void> {
  if (!out) throw new Error('usage: bundle-workflows OUT.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows') });
  await writeFile(path.resolve(out), code);
  process.stdout.write(`workflow bundle written to ${out} (${(code.length / 1024).toFixed(0)} KB)\n`);
}

main(process.argv[2]).catch((err: unknown) => {
  process.stderr.write(`bundle-workflows: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
