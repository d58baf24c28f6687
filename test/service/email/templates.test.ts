import { expect } from 'chai';
import { lifetime, linkMinutes, renderEmail, templateNames, type EmailTemplate } from '../../../service/email/templates.js';

const link = 'https://app.example.com/reset-password?token=abc_DEF-123&x=1';
const examples: EmailTemplate[] = [
  { name: 'verify_email', link, validForMinutes: 24 * 60 },
  { name: 'reset_password', link, validForMinutes: 30 },
  { name: 'password_changed', how: 'changed' },
  { name: 'login_after_lockout', ip: '203.0.113.9', userAgent: 'curl/8.5' },
  { name: 'mfa_changed', change: 'enabled' },
  { name: 'account_exists', forgotPasswordLink: 'https://app.example.com/forgot-password' },
];

describe('email templates', () => {
  it('has an example here for every template', () => {
    expect(examples.map((e) => e.name)).to.have.members([...templateNames]);
  });

  for (const template of examples) {
    it(`${template.name}: a subject, a plain-text body and an HTML body`, () => {
      const mail = renderEmail(template);
      expect(mail.subject).to.be.a('string').and.not.be.empty;
      expect(mail.text.trim()).to.not.be.empty;
      expect(mail.html).to.match(/^<!doctype html>/);
      expect(mail.html).to.contain(`<title>${mail.subject}</title>`);
    });
  }

  it('puts the link in both bodies, escaped in the HTML one', () => {
    for (const template of examples.slice(0, 2)) {
      const mail = renderEmail(template);
      expect(mail.text).to.contain(link);
      expect(mail.html).to.contain('href="https://app.example.com/reset-password?token=abc_DEF-123&amp;x=1"');
    }
  });

  it('says how long a link works, in hours when it is whole hours and in minutes otherwise', () => {
    expect(renderEmail(examples[0]!).text).to.contain('expires in 24 hours');
    expect(renderEmail(examples[1]!).text).to.contain('expires in 30 minutes');
    expect([60, 90, 1, 120].map(lifetime)).to.deep.equal(['1 hour', '90 minutes', '1 minute', '2 hours']);
  });

  it('never promises a link more time than it has', () => {
    expect([60, 89, 90, 5400, 86_399].map(linkMinutes)).to.deep.equal([1, 1, 1, 90, 1439]);
  });

  it('escapes what a client controls (the user agent) in HTML', () => {
    const mail = renderEmail({ name: 'login_after_lockout', ip: '203.0.113.9', userAgent: '<script>alert(1)</script>' });
    expect(mail.html).to.not.contain('<script>');
    expect(mail.html).to.contain('&lt;script&gt;');
    expect(mail.text).to.contain('203.0.113.9');
  });

  it('tells a password change from a reset, and names each second-factor change', () => {
    expect(renderEmail({ name: 'password_changed', how: 'reset' }).text).to.contain('every session was signed out');
    expect(renderEmail({ name: 'password_changed', how: 'changed' }).text).to.contain('other sessions were signed out');
    expect(renderEmail({ name: 'mfa_changed', change: 'disabled' }).text).to.contain('turned off');
    expect(renderEmail({ name: 'mfa_changed', change: 'recovery_code_used', remainingRecoveryCodes: 9 }).text).to.contain('9 remain');
    expect(renderEmail({ name: 'mfa_changed', change: 'recovery_codes_regenerated' }).text).to.contain('the earlier ones no longer work');
  });
});
