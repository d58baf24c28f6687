/**
 * The invalidation channel's messages: `<instance>:<key>` drops one key from
 * other replicas' memory, `<instance>*<namespace>` every key of a namespace
 * (after a repair too large to list key by key). The instance id is a UUID,
 * 36 characters, so the separator sits at a fixed offset; a replica that only
 * knows the first form reads the second as an unknown key and drops nothing.
 */
/** The channel of one deployment: replicas sharing a Redis with another deployment do not hear its writes. */
export const channelFor = (prefix: string): string => `${prefix}cache:invalidate`;

export type Invalidation = { origin: string; key: string } | { origin: string; namespace: string };

export const keyInvalidation = (instance: string, key: string): string => `${instance}:${key}`;

export const namespaceInvalidation = (instance: string, namespace: string): string => `${instance}*${namespace}`;

const originLength = 36;

export function parseInvalidation(message: string): Invalidation {
  const origin = message.slice(0, originLength);
  const rest = message.slice(originLength + 1);
  return message[originLength] === '*' ? { origin, namespace: rest } : { origin, key: rest };
}
