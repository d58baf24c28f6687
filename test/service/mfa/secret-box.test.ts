import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { totpKeyRing, totpKid } from '../../../service/mfa/encryption-keys.js';
import { isSealed, openSecret, sealSecret } from '../../../service/mfa/secret-box.js';
import { newTotpSecret } from '../../../service/mfa/totp.js';

describe('TOTP secrets encrypted at rest (AES-256-GCM)', () => {
  const [older, current] = [randomBytes(32), randomBytes(32)];
  const ring = totpKeyRing(current, [older]);
  const userId = randomUUID();
  const secret = newTotpSecret();

  it('stores v1.<kid>.<iv>.<ciphertext+tag> in base64url, never the secret, with a fresh IV each time', () => {
    const stored = sealSecret(ring, userId, secret);
    expect(stored).to.match(new RegExp(`^v1\\.${totpKid(current)}\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]+$`));
    expect(stored).to.not.contain(secret);
    expect(isSealed(stored)).to.equal(true);
    expect(isSealed(secret)).to.equal(false);
    expect(sealSecret(ring, userId, secret)).to.not.equal(stored);
  });

  it('decrypts for the same user with the key whose kid it carries', () => {
    expect(openSecret(ring, userId, sealSecret(ring, userId, secret))).to.deep.equal({ ok: true, secret, kid: totpKid(current) });
    const byOlder = sealSecret(totpKeyRing(older), userId, secret);
    expect(openSecret(ring, userId, byOlder)).to.deep.equal({ ok: true, secret, kid: totpKid(older) });
  });

  it('does not decrypt for another user: the user id is authenticated data', () => {
    expect(openSecret(ring, randomUUID(), sealSecret(ring, userId, secret))).to.deep.equal({ ok: false, reason: 'does_not_decrypt', kid: totpKid(current) });
  });

  it('names a kid that no key of the ring has', () => {
    const stranger = randomBytes(32);
    expect(openSecret(ring, userId, sealSecret(totpKeyRing(stranger), userId, secret))).to.deep.equal({ ok: false, reason: 'unknown_key', kid: totpKid(stranger) });
  });

  it('refuses an edited ciphertext, and one relabelled with another kid of the ring', () => {
    const [version, kid, iv, sealed] = sealSecret(ring, userId, secret).split('.') as [string, string, string, string];
    const flipped = Buffer.from(sealed, 'base64url');
    flipped[0]! ^= 1;
    expect(openSecret(ring, userId, [version, kid, iv, flipped.toString('base64url')].join('.'))).to.include({ ok: false, reason: 'does_not_decrypt' });
    expect(openSecret(ring, userId, [version, totpKid(older), iv, sealed].join('.'))).to.include({ ok: false, reason: 'does_not_decrypt' });
  });

  it('calls anything else malformed', () => {
    for (const stored of [secret, 'v1.abc', `v2.${totpKid(current)}.aaaa.bbbb`, `v1.${totpKid(current)}.short.${'a'.repeat(40)}`]) {
      expect(openSecret(ring, userId, stored), stored).to.include({ ok: false, reason: 'malformed' });
    }
  });

  it('derives a kid of 16 hex characters from the key alone: stable, different per key, not a plain hash prefix', () => {
    expect(totpKid(current)).to.match(/^[0-9a-f]{16}$/);
    expect(totpKid(Buffer.from(current))).to.equal(totpKid(current));
    expect(totpKid(older)).to.not.equal(totpKid(current));
    expect(totpKid(current)).to.not.equal(createHash('sha256').update(current).digest().subarray(0, 8).toString('hex'));
    expect([...ring.keys.keys()].sort()).to.deep.equal([totpKid(current), totpKid(older)].sort());
    expect(ring.current.kid).to.equal(totpKid(current));
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => totpKeyRing(randomBytes(16))).to.throw(RangeError, /32 bytes, got 16/);
  });
});
