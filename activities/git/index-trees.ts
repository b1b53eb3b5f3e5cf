/**
 * The tree an index file was last written as, remembered with the file's identity (device,
 * inode, size, modification and change times in nanoseconds). Git replaces an index through a
 * lock file and a rename, never in place, so any write gives it another identity; while the
 * identity is the same, write-tree would answer the same tree. The commit that follows a scan
 * checks the scanned tree this way instead of starting write-tree again. Only the service's git
 * writes these files (admin dirs in the mirror, out of the agent's reach).
 */
import { stat } from 'node:fs/promises';

const MAX_REMEMBERED = 1024;

export class IndexTrees {
  private readonly trees = new Map<string, { identity: string; tree: string }>();

  /** Call right after write-tree (which may itself rewrite the index) answered `tree`. */
  async remember(indexFile: string, tree: string): Promise<void> {
    const identity = await identityOf(indexFile);
    this.trees.delete(indexFile);
    if (!identity) return;
    this.trees.set(indexFile, { identity, tree });
    if (this.trees.size > MAX_REMEMBERED) this.trees.delete(this.trees.keys().next().value!);
  }

  /** The tree remembered for the index as it is now; undefined when it changed or is not known. */
  async recall(indexFile: string): Promise<string | undefined> {
    const known = this.trees.get(indexFile);
    if (!known) return undefined;
    return (await identityOf(indexFile)) === known.identity ? known.tree : undefined;
  }
}

async function identityOf(file: string): Promise<string | undefined> {
  const st = await stat(file, { bigint: true }).catch(() => undefined);
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : undefined;
}
