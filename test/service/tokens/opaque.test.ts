import { expect } from 'chai';
import { hashOpaqueToken, newOpaqueToken } from '../../../service/tokens/opaque.js';

describe('service/tokens/opaque', () => {
  describe('newOpaqueToken', () => {
    it('returns 256 random bits as base64url', () => {
      const token = newOpaqueToken();
      expect(token).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).to.have.length(32);
    });

    it('never repeats itself', () => {
      const tokens = new Set(Array.from({ length: 10_000 }, newOpaqueToken));
      expect(tokens.size).to.equal(10_000);
    });
  });

  describe('hashOpaqueToken', () => {
    it('is the SHA-256 of the token in hex', () => {
      // SHA-256("abc"), FIPS 180-2 appendix B.1
      expect(hashOpaqueToken('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    });

    it('gives the same hash for the same token and different hashes for different tokens', () => {
      const token = newOpaqueToken();
      expect(hashOpaqueToken(token)).to.equal(hashOpaqueToken(token));
      expect(hashOpaqueToken(token)).to.not.equal(hashOpaqueToken(newOpaqueToken()));
      expect(hashOpaqueToken(token)).to.not.include(token);
    });
  });
});
