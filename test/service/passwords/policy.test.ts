import { dictionary } from '@zxcvbn-ts/language-common';
import { expect } from 'chai';
import { AppError } from '../../../service/errors.js';
import { checkPassword, isCommonPassword } from '../../../service/passwords/policy.js';

/** The error code checkPassword answers with, or 'ok'. */
function verdict(password: string): string {
  try {
    checkPassword(password);
    return 'ok';
  } catch (err) {
    if (err instanceof AppError) return `${err.status} ${err.code}`;
    throw err;
  }
}

const euro = '€'; // 3 bytes in UTF-8

describe('service/passwords/policy', () => {
  describe('length, counted in UTF-8 bytes', () => {
    it('accepts 71 and 72 bytes and refuses 73, with multibyte characters', () => {
      expect(verdict(euro.repeat(23) + 'ab')).to.equal('ok'); // 69 + 2 = 71 bytes
      expect(verdict(euro.repeat(24))).to.equal('ok'); // 72 bytes, 24 characters
      expect(verdict(euro.repeat(24) + 'a')).to.equal('400 password_too_long'); // 73 bytes
    });

    it('refuses a password of 72 characters but more than 72 bytes rather than truncate it', () => {
      expect(verdict('a'.repeat(71) + euro)).to.equal('400 password_too_long'); // 72 characters, 74 bytes
    });

    it('refuses 7 bytes and accepts 8', () => {
      expect(verdict('kq8#Vz!')).to.equal('400 password_too_short');
      expect(verdict('kq8#Vz!p')).to.equal('ok');
    });

    it('counts bytes, not characters, at the lower bound too', () => {
      expect(verdict(euro + euro + 'a')).to.equal('400 password_too_short'); // 3 characters, 7 bytes
      expect(verdict(euro + euro + 'ab')).to.equal('ok'); // 4 characters, 8 bytes
    });
  });

  describe('common passwords', () => {
    it('refuses a common password, whatever its case', () => {
      expect(verdict('password')).to.equal('400 password_too_common');
      expect(verdict('PassWord')).to.equal('400 password_too_common');
      expect(verdict('iloveyou')).to.equal('400 password_too_common');
    });

    it('refuses the 10,000th most common password and accepts the 10,001st', () => {
      const ranked = dictionary['passwords-common'];
      expect(isCommonPassword(ranked[9_999] ?? '')).to.equal(true);
      expect(isCommonPassword(ranked[10_000] ?? '')).to.equal(false);
    });

    it('accepts an uncommon passphrase', () => {
      expect(verdict('correct horse battery staple')).to.equal('ok');
    });
  });
});
