/** The caller's own profile, served from the cache when it can be. */
import { AppError } from '../errors.js';
import type { PublicUser } from '../store/users.js';
import type { AuthDeps } from './deps.js';

/** Where a user's public profile is cached; every write of a profile goes through this key. */
export const profileKey = (userId: string): string => `user:${userId}`;

export async function profile(deps: Pick<AuthDeps, 'cache' | 'users'>, userId: string): Promise<PublicUser> {
  const key = profileKey(userId);
  const cached = await deps.cache.get<PublicUser>(key);
  if (cached) return cached;
  const user = await deps.users.findById(userId);
  // The token was valid but the account is gone (deleted since): the session is as good as revoked.
  if (!user) throw new AppError('session_revoked');
  // Filled only if absent: a verification or profile change that committed after our read has
  // written the newer row through, and must not be replaced by this one.
  await deps.cache.add(key, user);
  return user;
}
