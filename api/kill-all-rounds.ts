/**
 * Who a kill-all reaches. Its targets come from Temporal's visibility store, which lags behind a
 * start (about a second on Elasticsearch; now and then on the dev server's SQLite too): an agent
 * whose spawn answered 202 a moment before may be missing from the first listing. So the listing is
 * made again after each round of kills, until one finds nobody new, and the last one no sooner than
 * `lagMs` after the first: an agent spawned before the request is listed by then.
 */
export interface KillAllRoundsDeps<T> {
  list(): Promise<string[]>;
  kill(agentIds: string[]): Promise<T[]>;
  /** How long the visibility store may take to show a started run. */
  lagMs: number;
  /** Listings in all, the first included; a kill-all never loops for ever. */
  maxListings: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export async function killInRounds<T>(deps: KillAllRoundsDeps<T>): Promise<{ agentIds: string[]; outcomes: T[] }> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const firstListedAt = now();
  const handled = new Set<string>();
  const outcomes: T[] = [];
  for (let listing = 1; listing <= deps.maxListings; listing++) {
    const fresh = [...new Set(await deps.list())].filter((id) => !handled.has(id));
    if (fresh.length === 0) {
      const waitMs = firstListedAt + deps.lagMs - now();
      if (waitMs <= 0) break;
      // Nobody new yet, but a run started just before the request may not be listed yet: look once more after the lag.
      await sleep(waitMs);
      continue;
    }
    for (const id of fresh) handled.add(id);
    outcomes.push(...(await deps.kill(fresh)));
  }
  return { agentIds: [...handled], outcomes };
}
