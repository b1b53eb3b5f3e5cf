import { hostWaitSeconds, judgeHostQueue, LIVE_POLL_WINDOW_MS, MAX_HOST_WAIT_SECONDS } from './host-liveness';

describe('judging a host from the polls of its task queue', () => {
  const now = 1_000_000_000;

  it('a queue nobody polls is a lost host', () => {
    expect(judgeHostQueue([], now)).toEqual({ alive: false, pollers: 0 });
  });

  it('a poll within the window is a live host, judged by the most recent of its workers', () => {
    expect(judgeHostQueue([now - 5 * 60_000, now - 2_000], now)).toEqual({ alive: true, pollers: 2, lastPollAgeMs: 2_000 });
    expect(judgeHostQueue([now - LIVE_POLL_WINDOW_MS], now).alive).toBe(true);
  });

  it('workers the server still lists whose last poll is older than the window are a lost host', () => {
    expect(judgeHostQueue([now - LIVE_POLL_WINDOW_MS - 1, now - 4 * 60_000], now)).toEqual({ alive: false, pollers: 2, lastPollAgeMs: LIVE_POLL_WINDOW_MS + 1 });
  });

  it('a poll stamped a little ahead of this worker clock counts as just now', () => {
    expect(judgeHostQueue([now + 1_500], now)).toEqual({ alive: true, pollers: 1, lastPollAgeMs: 0 });
  });
});

describe('how long to wait again for a busy host', () => {
  it('doubles from the failover deadline up to a cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => hostWaitSeconds(3, n))).toEqual([6, 12, 24, 48, 96, 192, MAX_HOST_WAIT_SECONDS, MAX_HOST_WAIT_SECONDS]);
  });

  it('never waits less than the failover deadline, even one above the cap', () => {
    expect(hostWaitSeconds(3600, 1)).toBe(3600);
    expect(hostWaitSeconds(3600, 50)).toBe(3600);
  });
});
