/**
 * The start-up step after migrations: encrypt every TOTP secret still stored in
 * plaintext, then report which keys the stored secrets need.
 *
 * Why at start-up, in one transaction, rather than row by row as each is read:
 * the at-rest guarantee then holds for every account from the first request on,
 * including accounts that never sign in again (their plaintext would otherwise
 * sit in the table, and in every backup, for ever); it is one statement an
 * operator can see in the log with its count; and it is idempotent (only rows
 * that look like plaintext are touched, under row locks), so replicas starting
 * together or a restart convert nothing twice. The store still accepts a
 * plaintext row on read, for the one that an older version running beside this
 * one during a rollout may write, and encrypts it at its next successful use.
 */
import type { Logger } from '../logging/logger.js';
import type { MfaStore } from '../store/mfa.js';
import type { TotpKeyRing } from './encryption-keys.js';

export async function prepareTotpSecrets(store: Pick<MfaStore, 'sealPlaintext' | 'countByKey'>, keys: TotpKeyRing | undefined, logger: Logger): Promise<void> {
  // Without a key (production) nothing can be encrypted; loadTotpKeyRing has said so once.
  if (!keys) return;
  const converted = await store.sealPlaintext();
  const byKid = await store.countByKey();
  logger.info(`TOTP secrets: encrypted ${converted} stored in plaintext; new ones use key ${keys.current.kid}`, {
    converted,
    encryption_kid: keys.current.kid,
    factors_by_kid: Object.fromEntries(byKid),
  });

  const previous = [...byKid].filter(([kid]) => kid !== keys.current.kid && keys.keys.has(kid));
  if (previous.length > 0) {
    logger.warn(
      `${sum(previous)} TOTP secret(s) are still encrypted with previous key(s) ${kids(previous)}: keep them in TOTP_PREVIOUS_ENCRYPTION_KEYS; ` +
        'each secret is re-encrypted with TOTP_ENCRYPTION_KEY the next time its owner uses a code',
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
