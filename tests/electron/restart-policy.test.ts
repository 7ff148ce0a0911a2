// Main's restart policy for crashed helper processes: growing delays, then giving up when crashes keep coming.
import { expect, it, vi } from 'vitest';
import { restartAfter, RestartPolicy } from '../../electron/common/restart-policy';

it('restarts after 0.5, 1 and 2 s, gives up on the fourth exit within a minute, and forgives exits older than that', () => {
  const p = new RestartPolicy();
  expect([p.onExit(0), p.onExit(1_000), p.onExit(2_000)]).toEqual([500, 1_000, 2_000]);
  expect(p.onExit(3_000)).toBeNull();
  const q = new RestartPolicy();
  expect([q.onExit(0), q.onExit(30_000), q.onExit(61_000), q.onExit(120_000)]).toEqual([500, 1_000, 1_000, 1_000]);
});

it('restartAfter starts again after the delay, not once the host is stopping, and gives up with the policy', () => {
  vi.useFakeTimers();
  try {
    const p = new RestartPolicy({ windowMs: 60_000, maxExits: 2, baseDelayMs: 100 });
    let starts = 0;
    let stopping = false;
    expect(restartAfter(p, () => starts++, () => stopping, 0)).not.toBeNull();
    vi.advanceTimersByTime(99);
    expect(starts).toBe(0);
    vi.advanceTimersByTime(1);
    expect(starts).toBe(1);
    expect(restartAfter(p, () => starts++, () => stopping, 10)).not.toBeNull(); // 200 ms this time
    stopping = true;
    vi.advanceTimersByTime(200);
    expect(starts).toBe(1);
    expect(restartAfter(p, () => starts++, () => stopping, 20)).toBeNull(); // a third exit within the window
  } finally {
    vi.useRealTimers();
  }
});
