/**
 * A mail server, for real: `smtp-server` on 127.0.0.1, port 0, plain SMTP (no TLS,
 * STARTTLS disabled), parsing every accepted message with mailparser and answering RCPT
 * TO as the test scripts.
 *
 *   const receiver = await startSmtpReceiver();            // AUTH optional, any login accepted
 *   const strict = await startSmtpReceiver({ auth: { user: 'mailer', pass: 's3cret' } });
 *   receiver.url                                           // smtp://127.0.0.1:<port> (for nodemailer)
 *   receiver.urlWith('user', 'pass')                       // the same with credentials in it
 *   receiver.failRecipient('bob@x.test', 451, 'try later', 2)   // refuse RCPT TO twice, then accept
 *   receiver.failRecipient('gone@x.test', 550, 'no such user')  // refuse it for good
 *   const [mail] = await receiver.waitFor(1);              // resolves when ≥ 1 message was accepted
 *   receiver.messages                                      // every accepted message, in order
 *   receiver.refusals                                      // every scripted RCPT refusal, in order
 *   await receiver.close();                                // in teardown, always (idempotent)
 *
 * A message is recorded once parsed, before the 250 reply to DATA, so when a client's
 * send resolves its message is already in `messages`. `from` and `to` are the ENVELOPE
 * (MAIL FROM / accepted RCPT TO); headers, subject and parts come from the message.
 * `headers` has lowercase names; values are mailparser's decoded values as text (an
 * address header as its text form, a date as ISO 8601, a repeated header joined with
 * ", "). Rules match the whole address, case-insensitively; several rules for one
 * address apply in the order given, each until its `times` run out (none = forever).
 * With `auth` set, AUTH is required and a wrong login gets
 * `535 Authentication failed for <user> with password <pass>`: echoing both is
 * deliberate, to prove that clients redact what a careless server repeats.
 * close() ends open client connections at once (421), not after smtp-server's 30 s grace.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type HeaderValue } from 'mailparser';
import { SMTPServer, type SMTPServerError } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients that were accepted (RCPT TO). */
  to: string[];
  subject: string;
  text: string;
  /** '' when the message had no HTML part. */
  html: string;
  headers: ReadonlyMap<string, string>;
  /** Date.now() when parsed. */
  receivedAt: number;
}

export interface SmtpRefusal {
  address: string;
  code: number;
  at: number;
}

export interface SmtpReceiverOptions {
  /** Require AUTH (PLAIN/LOGIN over plain text) with exactly these credentials. */
  auth?: { user: string; pass: string };
}

export interface SmtpReceiver {
  readonly port: number;
  /** `smtp://127.0.0.1:<port>`. */
  readonly url: string;
  /** `url` with a user and password in it (percent-encoded as needed). */
  urlWith(user: string, pass: string): string;
  readonly messages: readonly ReceivedMail[];
  readonly refusals: readonly SmtpRefusal[];
  /** Refuse RCPT TO `address` with `code` and `message`, `times` times (default: always). */
  failRecipient(address: string, code: number, message: string, times?: number): void;
  /** Drops every rule not yet used up. */
  clearRules(): void;
  /** Resolves with `messages` once at least `count` were accepted; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<readonly ReceivedMail[]>;
  close(): Promise<void>;
}

interface Rule {
  address: string;
  code: number;
  message: string;
  remaining: number;
}

export async function startSmtpReceiver(options: SmtpReceiverOptions = {}): Promise<SmtpReceiver> {
  const messages: ReceivedMail[] = [];
  const refusals: SmtpRefusal[] = [];
  let rules: Rule[] = [];
  const waiters = new Set<() => void>();
  const required = options.auth;

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: required === undefined,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (required === undefined || (auth.username === required.user && auth.password === required.pass)) {
        return callback(null, { user: auth.username ?? '' });
      }
      callback(refusal(535, `Authentication failed for ${auth.username ?? ''} with password ${auth.password ?? ''}`));
    },
    onRcptTo(address, _session, callback) {
      const key = address.address.toLowerCase();
      const rule = rules.find((r) => r.address === key && r.remaining > 0);
      if (!rule) return callback();
      rule.remaining -= 1;
      refusals.push({ address: address.address, code: rule.code, at: Date.now() });
      callback(refusal(rule.code, rule.message));
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          messages.push({
            from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: parsed.html === undefined || parsed.html === false ? '' : parsed.html,
            headers: new Map([...parsed.headers].map(([name, value]) => [name, headerText(value)])),
            receivedAt: Date.now(),
          });
          for (const wake of [...waiters]) wake();
          callback();
        },
        (error: unknown) => callback(refusal(451, `could not parse the message: ${String(error)}`)),
      );
    },
  });
  // Clients that drop a connection mid-session are cases under test, not crashes.
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  const url = `smtp://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;

  return {
    port,
    url,
    urlWith(user, pass) {
      return `smtp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${port}`;
    },
    messages,
    refusals,
    failRecipient(address, code, message, times = Number.POSITIVE_INFINITY) {
      rules.push({ address: address.toLowerCase(), code, message, remaining: times });
    },
    clearRules() {
      rules = [];
    },
    waitFor(count, timeoutMs = 10_000) {
      if (messages.length >= count) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = () => {
          if (messages.length >= count) (done(), resolve(messages));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`smtp receiver: ${messages.length} of ${count} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A pooled client keeps its connection open: end it now, as smtp-server would after its grace period.
        for (const connection of server.connections) {
          connection.send(421, 'Server shutting down');
          connection.close();
        }
      });
      return closing;
    },
  };
}

function refusal(code: number, message: string): SMTPServerError {
  const error: SMTPServerError = new Error(message);
  error.responseCode = code;
  return error;
}

function headerText(value: HeaderValue): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => headerText(v)).join(', ');
  if ('text' in value && typeof value.text === 'string') return value.text; // an address header
  if ('value' in value && typeof value.value === 'string') return value.value; // Content-Type and the like
  return JSON.stringify(value); // the combined List-* headers
}
