/** Reads Prometheus text exposition into numbers, so tests assert values, not text. */
export type Samples = Map<string, number>;

/** `name{a="1",b="2"} 3` lines as `name{a="1",b="2"}` → 3 (labels sorted); comments skipped. */
export function parsePrometheus(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = m[2] ? [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort() : [];
    samples.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return samples;
}

/** The value of one series (0 when absent): `sample(s, 'orchestrator_runs_total', { outcome: 'failed' })`. */
export function sample(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  const key = `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`;
  return samples.get(key) ?? 0;
}
