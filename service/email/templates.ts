/**
 * The messages the service sends, each as plain text and HTML. Pure functions of
 * their data: no clock, no I/O, so every template is tested by reading it.
 * Messages never carry a password, and only the two link messages carry a token.
 */

export type EmailTemplate =
  | { name: 'verify_email'; link: string; validForMinutes: number }
  | { name: 'reset_password'; link: string; validForMinutes: number }
  | { name: 'password_changed'; how: 'changed' | 'reset' }
  | { name: 'login_after_lockout'; ip: string | undefined; userAgent: string | undefined }
  | { name: 'mfa_changed'; change: 'enabled' | 'disabled' | 'recovery_code_used' | 'recovery_codes_regenerated'; remainingRecoveryCodes?: number }
  | { name: 'account_exists'; forgotPasswordLink: string };

export type TemplateName = EmailTemplate['name'];

export const templateNames: readonly TemplateName[] = [
  'verify_email', 'reset_password', 'password_changed', 'login_after_lockout', 'mfa_changed', 'account_exists',
];

/**
 * Whether a message may wait in PostgreSQL (the durable outbox). Notices may: they
 * hold nothing secret and cannot be asked for again. The two link messages may not:
 * the database keeps only hashes of their tokens, and a lost link is one the user
 * can request again. A record, so a new template has to choose.
 */
export const storable: Readonly<Record<TemplateName, boolean>> = {
  verify_email: false,
  reset_password: false,
  password_changed: true,
  login_after_lockout: true,
  mfa_changed: true,
  account_exists: true,
};

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A paragraph is a string; a link paragraph is [label, href]. */
type Block = string | { link: string; label: string };

/**
 * The whole minutes a link with this TTL works, rounded down so that a message never promises
 * more time than the link has (and at least 1: the shortest TTL configuration allows is 60 s).
 */
export function linkMinutes(ttlSeconds: number): number {
  return Math.max(1, Math.floor(ttlSeconds / 60));
}

/** "24 hours", "1 hour", "90 minutes", "1 minute": whole hours when it is some, minutes otherwise. */
export function lifetime(minutes: number): string {
  const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
  return minutes % 60 === 0 ? plural(minutes / 60, 'hour') : plural(minutes, 'minute');
}

const notYou = 'If this was not you, reset your password at once and review your active sessions.';

function compose(subject: string, blocks: Block[]): RenderedEmail {
  const text = blocks.map((b) => (typeof b === 'string' ? b : `${b.label}:\n${b.link}`)).join('\n\n');
  const body = blocks
    .map((b) => (typeof b === 'string'
      ? `<p>${escapeHtml(b)}</p>`
      : `<p><a href="${escapeHtml(b.link)}">${escapeHtml(b.label)}</a></p><p style="font-size:small;color:#555">${escapeHtml(b.link)}</p>`))
    .join('\n');
  const html = `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>\n<body style="font-family:sans-serif;line-height:1.5">\n${body}\n</body></html>\n`;
  return { subject, text: `${text}\n`, html };
}

export function renderEmail(template: EmailTemplate): RenderedEmail {
  switch (template.name) {
    case 'verify_email':
      return compose('Verify your email address', [
        'Confirm that this address belongs to you by opening the link below.',
        { label: 'Verify my email address', link: template.link },
        `The link works once and expires in ${lifetime(template.validForMinutes)}. If you did not create an account, ignore this message.`,
      ]);
    case 'reset_password':
      return compose('Reset your password', [
        'Someone asked to reset the password of the account with this address. To choose a new password, open the link below.',
        { label: 'Choose a new password', link: template.link },
        `The link works once and expires in ${lifetime(template.validForMinutes)}. Resetting signs out every session. If you did not ask for this, ignore this message: your password stays as it is.`,
      ]);
    case 'password_changed':
      return compose('Your password was changed', [
        template.how === 'reset'
          ? 'The password of your account was reset with a link sent to this address, and every session was signed out.'
          : 'The password of your account was changed. Your other sessions were signed out.',
        notYou,
      ]);
    case 'login_after_lockout':
      return compose('New sign-in after your account was locked', [
        'Your account was locked recently after several wrong passwords. It has now been signed in to with the right password.',
        `Sign-in from: ${template.ip ?? 'an unknown address'}${template.userAgent ? `, ${template.userAgent}` : ''}.`,
        notYou,
      ]);
    case 'mfa_changed': {
      const what = {
        enabled: 'Two-step verification with an authenticator app was turned on for your account.',
        disabled: 'Two-step verification was turned off for your account.',
        recovery_code_used: `A recovery code was used to sign in to your account${template.remainingRecoveryCodes === undefined ? '' : `; ${template.remainingRecoveryCodes} remain`}.`,
        recovery_codes_regenerated: 'New recovery codes were made for your account; the earlier ones no longer work.',
      }[template.change];
      return compose('Your second factor changed', [what, notYou]);
    }
    case 'account_exists':
      return compose('Someone tried to register with your address', [
        'Someone tried to create an account with this email address, which already has one. No new account was created.',
        'If it was you, sign in instead. If you forgot your password, choose a new one:',
        { label: 'Reset my password', link: template.forgotPasswordLink },
        'If it was not you, you can ignore this message.',
      ]);
  }
}
