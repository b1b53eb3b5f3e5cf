/**
 * Answers about git objects, kept for the worker's lifetime. What a commit or tree holds never
 * changes (objects are named by their content), so a tree entry or a blob's text read once is the
 * answer for good; the gate and scan activities of every agent on the same base commit ask the
 * same few questions (the gates file, package.json, the allowlist) and each answer costs git
 * processes. Keys name the mirror too: an object one mirror has says nothing about another.
 * Least recently used answers go first once the entry or byte budget is spent.
 */
export class ObjectCache {
  private readonly entries = new Map<string, { value: unknown; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 16 * 1024 * 1024,
    private readonly maxEntries = 4096,
  ) {}

  /** The cached answer, wrapped (`{ value }`), so a cached `undefined` differs from none. */
  get<T>(key: string): { value: T } | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return { value: hit.value as T };
  }

  /** Keeps `value`, counted as `bytes`; an answer larger than an eighth of the budget is not kept. */
  set(key: string, value: unknown, bytes: number): void {
    if (bytes > this.maxBytes / 8) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
      this.bytes -= v.bytes;
    }
  }
}
