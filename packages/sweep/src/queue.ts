// Where a sweep lives in Redis: the BullMQ queue `<name>` holds one job per unit, and the
// queue `<name>-grid` holds one job per grid point (its definition, the sweep's manifest for
// `status` and `collect`). No worker takes jobs from the grid queue: they stay waiting.

// BullMQ is imported where it is used (dynamically): bbalpha's CLI bundles this package's
// code for its `sweep` and `worker` commands, and its other commands must not load BullMQ.
import type { ConnectionOptions, Queue } from 'bullmq';
import { ValueError } from '@alphadrop/core';
import type { GridPoint } from './grid.js';

/** redis://[user:password@]host:port[/db] as ioredis options (BullMQ's connection). */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValueError('--queue', 'a Redis URL redis://HOST:PORT[/DB]', JSON.stringify(url));
  }
  if (u.protocol !== 'redis:' || u.hostname === '') throw new ValueError('--queue', 'a Redis URL redis://HOST:PORT[/DB]', JSON.stringify(url));
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new ValueError('--queue', 'a database number after the port (redis://HOST:PORT/DB)', JSON.stringify(url));
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? 6379 : Number(u.port),
    ...(db !== '' ? { db: Number(db) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    // BullMQ's workers block on Redis: a command must wait for a reconnect rather than fail
    maxRetriesPerRequest: null,
  };
}

export interface SweepQueues {
  units: Queue;
  grid: Queue;
  close(): Promise<void>;
}

export async function openQueues(url: string, name: string): Promise<SweepQueues> {
  const { Queue } = await import('bullmq');
  const connection = redisConnection(url);
  const units = new Queue(name, { connection });
  const grid = new Queue(`${name}-grid`, { connection });
  return { units, grid, close: async () => void (await Promise.all([units.close(), grid.close()])) };
}

/** The sweep's grid points, in the order they were added. */
export async function gridPointsOf(q: SweepQueues): Promise<GridPoint[]> {
  const jobs = await q.grid.getJobs(['waiting', 'paused', 'prioritized'], 0, -1, true);
  return jobs.sort((a, b) => a.timestamp - b.timestamp).map((j) => j.data as GridPoint);
}
