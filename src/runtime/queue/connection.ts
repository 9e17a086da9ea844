import type { ConnectionOptions } from 'bullmq';
import path from 'node:path';
import { RunError } from '../../core/diagnostics.js';

/**
 * Where the queue is: a `redis://` or `rediss://` (TLS) URL from `--queue` or FXFLOW_QUEUE. Parsed
 * here into ioredis options (the same fields ioredis reads from a URL), so that the password is
 * only ever in the connection and every message names the queue by `redacted()`.
 */
export interface QueueTarget {
  /** The URL with any user and password replaced by `***`: for messages, history and reports. */
  display: string;
  connection: ConnectionOptions;
  /** The BullMQ queue name (`?queue=NAME` in the URL; default `fxflow`). */
  name: string;
  /** The BullMQ key prefix (`?prefix=P`; default `bull`). */
  prefix: string;
}

/** `url` without its credentials (user and password as `***`), for anything a user or the history sees. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)([^@/]*)@/i, (_m, scheme: string) => `${scheme}***@`);
}

export function parseQueueUrl(url: string, where = '--queue'): QueueTarget {
  const display = redactUrl(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RunError(`${where}: not a URL: ${display}`, { hint: 'write redis://HOST:6379/0 (or rediss:// for TLS)' });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new RunError(`${where}: ${display} is not a redis:// or rediss:// URL`, { hint: 'write redis://HOST:6379/0 (or rediss:// for TLS)' });
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new RunError(`${where}: database \`${db}\` in ${display} is not a number`, { hint: 'write redis://HOST:6379/0' });
  const port = u.port ? Number(u.port) : 6379;
  const connection: ConnectionOptions = {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port,
    db: db ? Number(db) : 0,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: { servername: u.hostname } } : {}),
    // BullMQ's workers block on Redis: a command must wait for a reconnect, not fail after N tries.
    maxRetriesPerRequest: null,
  };
  const name = u.searchParams.get('queue') ?? 'fxflow';
  const prefix = u.searchParams.get('prefix') ?? 'bull';
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || !/^[A-Za-z0-9_.-]+$/.test(prefix))
    throw new RunError(`${where}: queue name and prefix may hold letters, digits, \`_\`, \`.\` and \`-\` only (${display})`);
  return { display: `${display.split('?')[0]}${name !== 'fxflow' ? ` (queue ${name})` : ''}`, connection, name, prefix };
}

/** `message` with every occurrence of a password in `target`'s connection replaced: errors from below may quote it. */
export function scrub(message: string, target: QueueTarget): string {
  const pw = (target.connection as { password?: string }).password;
  return pw ? message.split(pw).join('***') : message;
}

/** The queue and shared cache of `fxflow run --executor queue` and `fxflow worker`: flags first, then FXFLOW_QUEUE / FXFLOW_CACHE. */
export function queueSettings(flags: { queue?: string; cache?: string }, env: NodeJS.ProcessEnv = process.env): { target: QueueTarget; cacheDir: string } {
  const url = flags.queue ?? env.FXFLOW_QUEUE;
  if (!url) throw new RunError('no queue named', { hint: 'pass --queue redis://HOST:6379/0 or set FXFLOW_QUEUE' });
  const cacheDir = flags.cache ?? env.FXFLOW_CACHE;
  if (!cacheDir) throw new RunError('no shared artifact cache named', { hint: 'pass --cache DIR (a folder every machine mounts) or set FXFLOW_CACHE' });
  return { target: parseQueueUrl(url, flags.queue ? '--queue' : 'FXFLOW_QUEUE'), cacheDir: path.resolve(cacheDir) };
}

/**
 * Whether Redis answers at `target` within `ms`: one connection that does not retry (BullMQ's own
 * retry forever, and cannot be closed before they connect), so an unreachable or refusing queue
 * fails at once with a clear message, before anything is enqueued. Credentials are scrubbed.
 */
export async function checkReachable(target: QueueTarget, ms = 5000): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ ...(target.connection as object), lazyConnect: true, retryStrategy: () => null, connectTimeout: ms, maxRetriesPerRequest: 0 });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, a TLS failure) says more than the command's "Connection is closed".
  let cause: Error | undefined;
  client.on('error', (e: Error) => {
    cause ??= e;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise<never>((_r, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
      }),
    ]);
  } catch (e) {
    const why = cause ?? (e instanceof Error ? e : new Error(String(e)));
    throw new RunError(`cannot reach the queue at ${target.display}: ${scrub(why.message, target)}`, {
      hint: 'start Redis there (redis-server), or check --queue / FXFLOW_QUEUE',
    });
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
