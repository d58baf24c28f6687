/**
 * A real SMTP server for the tests (the `smtp-server` package) on a loopback
 * port; every message it accepts is parsed (mailparser) and kept, so a test
 * reads what the service actually sent. It can be stopped and started again on
 * the same port to play an outage.
 */
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../../service/util/free-port.js';
import { eventually } from './eventually.js';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

export interface TestSmtp {
  url: string;
  port: number;
  messages: ReceivedMail[];
  /** The first message to `to` whose subject or text matches, waiting for it to arrive. */
  waitFor(to: string, pattern?: RegExp, timeoutMs?: number): Promise<ReceivedMail>;
  /** Messages to `to` received so far. */
  to(address: string): ReceivedMail[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** `listening: false` reserves the port without answering on it: an SMTP server that is down. */
export async function startSmtpServer(options: { listening?: boolean } = {}): Promise<TestSmtp> {
  const port = await freePort();
  const messages: ReceivedMail[] = [];
  let server: SMTPServer | undefined;

  const start = async (): Promise<void> => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      // Stopping plays an outage: open connections are cut, not waited for (the default waits 30 s).
      closeTimeout: 100,
      onData(stream, session, callback) {
        simpleParser(stream).then(
          (parsed) => {
            messages.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
            });
            callback();
          },
          (err: Error) => callback(err),
        );
      },
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => resolve());
    });
  };

  if (options.listening !== false) await start();
  const to = (address: string): ReceivedMail[] => messages.filter((m) => m.to.includes(address));
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    to,
    waitFor: (address, pattern, timeoutMs = 10_000) =>
      eventually(
        `a message to ${address}${pattern ? ` matching ${pattern}` : ''}`,
        async () => to(address).find((m) => !pattern || pattern.test(`${m.subject}\n${m.text}`)),
        timeoutMs,
        25,
      ),
    start,
    async stop() {
      const running = server;
      server = undefined;
      if (running) await new Promise<void>((resolve) => running.close(() => resolve()));
    },
  };
}

/** The token in a link of a message (`…?token=…`). */
export function linkToken(mail: ReceivedMail): string {
  const match = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!match) throw new Error(`no link with a token in: ${mail.text}`);
  return match[1]!;
}
