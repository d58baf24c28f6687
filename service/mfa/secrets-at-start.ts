/**
 * The start-up step after migrations: encrypt with the current key every TOTP
 * secret still stored in plaintext or under a previous key, then report which
 * keys the stored secrets need.
 *
 * Why at start-up rather than row by row as each is read: the at-rest guarantee
 * then holds for every account from the first request on, including accounts
 * that never sign in again (their plaintext, or their secret under a retired
 * key, would otherwise sit in the table and in every backup for ever), and a
 * key rotation finishes with the rollout that makes the new key current, so the
 * old key can be retired right after it. It is safe during a blue/green flip
 * because the rotation's first step gives both colours both keys (README.md).
 * It is idempotent, in batches under row locks (SKIP LOCKED), so replicas
 * starting together share the work. The store still accepts a plaintext row on
 * read, for the one an older version running beside this one may write, and
 * encrypts it at its next successful use.
 */
import type { Logger } from '../logging/logger.js';
import type { MfaStore } from '../store/mfa.js';
import type { TotpKeyRing } from './encryption-keys.js';

export async function prepareTotpSecrets(store: Pick<MfaStore, 'sealStale' | 'countByKey'>, keys: TotpKeyRing | undefined, logger: Logger): Promise<void> {
  // Without a key (production) nothing can be encrypted; loadTotpKeyRing has said so once.
  if (!keys) return;
  const sealed = await store.sealStale();
  const byKid = await store.countByKey();
  logger.info(
    `TOTP secrets: encrypted ${sealed.plaintext} stored in plaintext and re-encrypted ${sealed.rekeyed} under a previous key; new ones use key ${keys.current.kid}`,
    { converted: sealed.plaintext, rekeyed: sealed.rekeyed, encryption_kid: keys.current.kid, factors_by_kid: Object.fromEntries(byKid) },
  );

  if (sealed.failed > 0) {
    logger.error(
      `${sealed.failed} TOTP secret(s) under a configured key do not decrypt: the rows were altered or copied between users; ` +
        'their owners get 503 mfa_unavailable and must enroll again',
      { failed: sealed.failed },
    );
  }
  const previous = [...byKid].filter(([kid]) => kid !== keys.current.kid && keys.keys.has(kid));
  if (sum(previous) > sealed.failed) {
    logger.warn(
      `${sum(previous)} TOTP secret(s) are still encrypted with previous key(s) ${kids(previous)}: keep them in TOTP_PREVIOUS_ENCRYPTION_KEYS; ` +
        'another replica starting now may be re-encrypting them, or a pod of the previous rotation step wrote them; ' +
        'each is re-encrypted with TOTP_ENCRYPTION_KEY at the next start, or when its owner next signs in with a TOTP code',
    );
  }
  const unknown = [...byKid].filter(([kid]) => kid !== 'plaintext' && !keys.keys.has(kid));
  if (unknown.length > 0) {
    logger.error(
      `${sum(unknown)} TOTP secret(s) are encrypted with key(s) ${kids(unknown)}, which neither TOTP_ENCRYPTION_KEY nor TOTP_PREVIOUS_ENCRYPTION_KEYS holds: ` +
        'their owners get 503 mfa_unavailable until the key is added to TOTP_PREVIOUS_ENCRYPTION_KEYS',
    );
  }
}

const sum = (entries: [string, number][]): number => entries.reduce((n, [, count]) => n + count, 0);
const kids = (entries: [string, number][]): string => entries.map(([kid]) => kid).join(', ');
