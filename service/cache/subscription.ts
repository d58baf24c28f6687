/**
 * Keeps the subscriber connection subscribed to the invalidation channel, and
 * says each time a subscription is confirmed: until then, invalidations published
 * by other replicas do not reach this one.
 */
import type { Redis } from 'ioredis';
import { retryDelayMs } from './redis.js';

export interface SubscriptionEvents {
  /** The SUBSCRIBE's reply arrived: from now on every invalidation is heard. */
  subscribed: () => void;
  failed: (err: unknown) => void;
}

/** How often a subscribed connection is asked whether it still answers. */
export const defaultHeartbeatMs = 5000;

/**
 * Subscribes each time the connection becomes ready, and again after a failed
 * attempt while it stays ready. With the offline queue off, a SUBSCRIBE sent before
 * the first connection is refused outright, and ioredis only re-subscribes channels
 * it once subscribed; so the first attempt cannot be made up front. Resolves once
 * subscribed, or once the first attempt fails (Redis is optional: serve, subscribe when it comes).
 */
export function keepSubscribed(subscriber: Redis, channel: string, on: SubscriptionEvents, heartbeatMs = defaultHeartbeatMs): Promise<void> {
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  // A connection that stays "ready" while nothing comes through (a half-open TCP connection, a
  // stalled Redis) loses every invalidation, and only TCP keepalive would notice, minutes later:
  // meanwhile this replica answers from memory for sessions revoked elsewhere. A PING unanswered
  // within the command timeout ends the connection; the new one subscribes again, and the
  // 'subscribed' that follows drops what memory may have missed.
  // One PING at a time, and one disconnect per connection: ending a half-open one takes a while.
  let pinging = false;
  let dropping = false;
  const heartbeat = setInterval(() => {
    if (subscriber.status === 'end') return void clearInterval(heartbeat);
    if (pinging || dropping || subscriber.status !== 'ready') return;
    pinging = true;
    subscriber
      .ping()
      .catch((err: unknown) => {
        if (subscriber.status !== 'ready') return;
        dropping = true;
        on.failed(err);
        subscriber.disconnect(true);
      })
      .finally(() => (pinging = false));
  }, heartbeatMs).unref();
  return new Promise((resolve) => {
    const subscribe = (): void => {
      clearTimeout(retry);
      retry = undefined;
      subscriber.subscribe(channel).then(() => {
        failures = 0;
        on.subscribed();
        resolve();
      }, (err: unknown) => {
        on.failed(err);
        resolve();
        // A SUBSCRIBE refused or timed out (a slow reply) leaves the connection up: no 'ready' follows to
        // try again, and without a subscription the cache is never shared. A new connection retries on its own.
        if (subscriber.status === 'ready') retry ??= setTimeout(subscribe, retryDelayMs(++failures)).unref();
      });
    };
    subscriber.on('ready', () => {
      failures = 0;
      dropping = false;
      subscribe();
    });
    subscriber.on('close', () => {
      clearTimeout(retry);
      retry = undefined;
    });
    subscriber.once('error', () => resolve());
    if (subscriber.status === 'ready') subscribe();
  });
}
