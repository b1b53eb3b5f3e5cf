import Redis from 'ioredis';
import { testEnv } from './env';

export function connectTestRedis(): Redis {
  return new Redis({ host: testEnv.valkeyHost, port: testEnv.valkeyPort, maxRetriesPerRequest: 1, lazyConnect: false });
}

/** Collects messages published on a channel until `stop()` is called. */
export async function subscribe(channel: string): Promise<{ messages: unknown[]; stop: () => Promise<void> }> {
  const sub = connectTestRedis();
  const messages: unknown[] = [];
  sub.on('message', (_ch: string, msg: string) => messages.push(JSON.parse(msg)));
  await sub.subscribe(channel);
  return {
    messages,
    stop: async () => {
      await sub.quit();
    },
  };
}
