/**
 * The gate programs a worker's bubblewrap sandbox was seen to have, so the set-up's toolchain
 * question (toolchains.ts) is asked once per program and worker, not once per agent: it cost a
 * sandbox of its own per spawn (a bwrap with its namespaces, about 12 ms of CPU on 2 cores).
 *
 * Only what was found is kept, and only with bubblewrap, whose PATH is the host's (/usr and
 * SANDBOX_READONLY_PATHS), the same for every agent of the worker. A program installed later is
 * asked about again (it was never kept as absent); one removed later makes its gate exit 127,
 * and that round asks the sandbox itself (withAbsentProgramsMissing), never this cache. Entries
 * expire after `ttlMs` so an uninstall is noticed at set-up too.
 */
export class FoundPrograms {
  private readonly foundAt = new Map<string, number>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The programs of `programs` not seen lately (those to ask the sandbox about). */
  unknown(programs: readonly string[]): string[] {
    const t = this.now();
    return programs.filter((p) => {
      const at = this.foundAt.get(p);
      if (at !== undefined && t - at < this.ttlMs) return false;
      this.foundAt.delete(p);
      return true;
    });
  }

  /** Keeps `asked` less `absent` as found now. */
  remember(asked: readonly string[], absent: ReadonlySet<string>): void {
    const t = this.now();
    for (const p of asked) if (!absent.has(p)) this.foundAt.set(p, t);
  }
}
