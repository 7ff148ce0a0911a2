// Main's restart policy for crashed helper processes: growing delays, then giving up when crashes keep coming.
import { expect, it } from 'vitest';
import { RestartPolicy } from '../../electron/common/restart-policy';

it('restarts after 0.5, 1 and 2 s, gives up on the fourth exit within a minute, and forgives exits older than that', () => {
  const p = new RestartPolicy();
  expect([p.onExit(0), p.onExit(1_000), p.onExit(2_000)]).toEqual([500, 1_000, 2_000]);
  expect(p.onExit(3_000)).toBeNull();
  const q = new RestartPolicy();
  expect([q.onExit(0), q.onExit(30_000), q.onExit(61_000), q.onExit(120_000)]).toEqual([500, 1_000, 1_000, 1_000]);
});
