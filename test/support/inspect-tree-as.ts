/**
 * Runs inspectTree over the directory in argv[2] and prints what it found as JSON: the tests start
 * it under another uid (a non-root worker) to see what a walk does with directories closed to it.
 */
import { inspectTree } from '../../activities/git/inspect-tree';

void inspectTree(process.argv[2]!).then((found) => process.stdout.write(JSON.stringify(found)));
