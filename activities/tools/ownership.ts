/** Worktree ownership for sandboxed agents: a root-owned worktree would make the container run as root. */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Hands a root-owned tree to the sandbox user (no-op unless the worker runs as root). */
export async function giveToSandboxUser(root: string, user: { uid: number; gid: number }): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { uid } = await fs.stat(root);
  if (uid !== 0) return;
  const walk = async (p: string): Promise<void> => {
    await fs.lchown(p, user.uid, user.gid);
    const st = await fs.lstat(p);
    if (!st.isDirectory()) return;
    for (const entry of await fs.readdir(p)) await walk(path.join(p, entry));
  };
  await walk(root);
}
