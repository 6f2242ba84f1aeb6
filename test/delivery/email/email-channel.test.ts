/**
 * The email driver against a real SMTP server (test/support/smtp-receiver.ts): what
 * arrives, how SMTP replies and network failures map onto outcomes, and that SMTP
 * credentials never reach an error text.
 */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelDriver, DeliveryJob, SendOutcome } from '../../../src/delivery/channel.js';
import { createEmailChannel, credentialsOf, outcomeOfSmtpError } from '../../../src/delivery/email/email-channel.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../support/smtp-receiver.js';

const FROM = 'Notify <notify@gateway.test>';
const PASSWORD = 'Pa55:w0rd@secret';
const USER = 'mailer-account';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Drivers first: a pooled connection left open would hold a receiver's close open.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receiver(options?: Parameters<typeof startSmtpReceiver>[0]): Promise<SmtpReceiver> {
  const started = await startSmtpReceiver(options);
  cleanups.push(() => started.close());
  return started;
}

function driver(smtpUrl: string, timeoutMs = 5_000): ChannelDriver {
  const created = createEmailChannel({ smtpUrl, from: FROM, timeoutMs });
  cleanups.push(async () => created.close?.());
  return created;
}

function job(email: string | null, overrides: Partial<DeliveryJob['message']> = {}): DeliveryJob {
  return {
    deliveryId: 'dlv_01HZX7Q3',
    attempt: 1,
    tenantId: 'acme',
    channelName: 'mail',
    config: { type: 'email' },
    message: {
      id: 'msg_1',
      kind: 'order.shipped',
      tenantId: 'acme',
      title: 'Your order <#7> shipped',
      body: 'Tracking: 12345',
      data: null,
      link: 'https://shop.example.com/orders/7',
      priority: 'medium',
      createdAt: '2026-11-30T10:00:00.000Z',
      mentions: null,
      ...overrides,
    },
    recipient: { userId: 'u1', email, mobile: null, wecomUserId: null, locale: 'en', timezone: null },
    push: null,
  };
}

const live = () => new AbortController().signal;

function expectNoCredentials(outcome: SendOutcome) {
  const text = 'error' in outcome ? outcome.error : '';
  for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), USER]) expect(text).not.toContain(secret);
}

describe('email channel', () => {
  it('delivers one mail: subject, text and HTML parts, delivery-id and kind headers', async () => {
    const smtp = await receiver();
    const outcome = await driver(smtp.url).send(job('alice@example.test'), live());
    expect(outcome).toEqual({ status: 'sent' });

    const [mail] = await smtp.waitFor(1);
    expect(smtp.messages).toHaveLength(1);
    expect(mail!.from).toBe('notify@gateway.test');
    expect(mail!.to).toEqual(['alice@example.test']);
    expect(mail!.subject).toBe('Your order <#7> shipped');
    expect(mail!.text).toContain('Tracking: 12345');
    expect(mail!.text).toContain('Open: https://shop.example.com/orders/7');
    expect(mail!.html).toContain('Your order &lt;#7&gt; shipped');
    expect(mail!.html).toContain('href="https://shop.example.com/orders/7"');
    expect(mail!.headers.get('x-notify-delivery-id')).toBe('dlv_01HZX7Q3');
    expect(mail!.headers.get('x-notify-kind')).toBe('order.shipped');
    expect(mail!.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail!.headers.get('from')).toContain('notify@gateway.test');
    expect(mail!.headers.get('to')).toBe('alice@example.test');
  });

  it('sends the same delivery id on every attempt, so receivers can dedupe', async () => {
    const smtp = await receiver();
    const email = driver(smtp.url);
    await email.send(job('alice@example.test'), live());
    await email.send({ ...job('alice@example.test'), attempt: 2 }, live());
    const mails = await smtp.waitFor(2);
    expect(mails.map((m) => m.headers.get('x-notify-delivery-id'))).toEqual(['dlv_01HZX7Q3', 'dlv_01HZX7Q3']);
  });

  it('retries on a 451 to RCPT TO, and the next attempt goes through', async () => {
    const smtp = await receiver();
    smtp.failRecipient('bob@example.test', 451, 'Greylisted, try again later', 1);
    const email = driver(smtp.url);

    const first = await email.send(job('bob@example.test'), live());
    expect(first).toMatchObject({ status: 'retry' });
    expect('error' in first && first.error).toContain('451');
    expect(smtp.refusals.map((r) => r.code)).toEqual([451]);
    expect(smtp.messages).toHaveLength(0);

    expect(await email.send(job('bob@example.test'), live())).toEqual({ status: 'sent' });
    expect((await smtp.waitFor(1))[0]!.to).toEqual(['bob@example.test']);
  });

  it('is permanent on a 550 to RCPT TO', async () => {
    const smtp = await receiver();
    smtp.failRecipient('gone@example.test', 550, 'No such user here');
    const outcome = await driver(smtp.url).send(job('gone@example.test'), live());
    expect(outcome).toMatchObject({ status: 'permanent' });
    expect('error' in outcome && outcome.error).toContain('550 No such user here');
    expect(smtp.messages).toHaveLength(0);
  });

  it('is permanent without an email address, and for anything but one bare address, without sending', async () => {
    const smtp = await receiver();
    const email = driver(smtp.url);
    expect(await email.send(job(null), live())).toEqual({ status: 'permanent', error: 'no email address' });
    expect(await email.send(job('  '), live())).toEqual({ status: 'permanent', error: 'no email address' });
    expect(await email.send({ ...job('x@example.test'), recipient: null }, live())).toEqual({ status: 'permanent', error: 'no email address' });
    for (const bad of ['a@x.test, b@y.test', 'Alice <a@x.test>', 'a@x.test\r\nBcc: b@y.test', 'no-at-sign', 'a@b@c']) {
      expect(await email.send(job(bad), live()), bad).toEqual({ status: 'permanent', error: 'invalid email address' });
    }
    expect(smtp.messages).toHaveLength(0);
  });

  it('retries when the server refuses connections (receiver closed)', async () => {
    const smtp = await receiver();
    const url = smtp.url;
    await smtp.close();
    const outcome = await driver(url).send(job('alice@example.test'), live());
    expect(outcome).toMatchObject({ status: 'retry' });
    expect('error' in outcome && outcome.error).toContain('ECONNREFUSED');
  });

  it('retries when the server never greets, within its timeout', async () => {
    const silent = await listenSilently();
    cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const { port } = silent.address() as AddressInfo;
    const started = Date.now();
    const outcome = await driver(`smtp://127.0.0.1:${port}`, 300).send(job('alice@example.test'), live());
    expect(outcome).toMatchObject({ status: 'retry' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('retries, without sending, when the worker is already stopping', async () => {
    const smtp = await receiver();
    const controller = new AbortController();
    controller.abort();
    const outcome = await driver(smtp.url).send(job('alice@example.test'), controller.signal);
    expect(outcome).toMatchObject({ status: 'retry' });
    expect(smtp.messages).toHaveLength(0);
  });

  it('retries when the worker stops mid-send, closing the stuck connection at once', async () => {
    let connectedNow: () => void = () => {};
    const connected = new Promise<void>((resolve) => (connectedNow = resolve));
    const silent = await listenSilently(() => connectedNow());
    cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    const { port } = silent.address() as AddressInfo;
    const controller = new AbortController();
    const sending = driver(`smtp://127.0.0.1:${port}`, 20_000).send(job('alice@example.test'), controller.signal);
    await connected;
    controller.abort();
    expect(await sending).toEqual({ status: 'retry', error: 'aborted: the delivery worker is stopping' });
  });

  it('authenticates with the credentials of the URL', async () => {
    const smtp = await receiver({ auth: { user: USER, pass: PASSWORD } });
    expect(await driver(smtp.urlWith(USER, PASSWORD)).send(job('alice@example.test'), live())).toEqual({ status: 'sent' });
    expect(await smtp.waitFor(1)).toHaveLength(1);
  });

  it('never puts the URL credentials in an error text, even when the server echoes them', async () => {
    const smtp = await receiver({ auth: { user: USER, pass: 'the-right-one' } });
    const refused = await driver(smtp.urlWith(USER, PASSWORD)).send(job('alice@example.test'), live());
    // A wrong password is the gateway's configuration, not this delivery's fault: retry.
    expect(refused).toMatchObject({ status: 'retry' });
    expect('error' in refused && refused.error).toContain('535');
    expect('error' in refused && refused.error).toContain('[redacted]');
    expectNoCredentials(refused);

    const url = smtp.urlWith(USER, PASSWORD);
    await smtp.close();
    const unreachable = await driver(url).send(job('alice@example.test'), live());
    expect(unreachable).toMatchObject({ status: 'retry' });
    expectNoCredentials(unreachable);
  });

  it('refuses an invalid SMTP URL without echoing it', () => {
    for (const smtpUrl of [`http://${USER}:${encodeURIComponent(PASSWORD)}@mail.test`, `smtp://${USER}:${PASSWORD}@`, 'not a url']) {
      let message = '';
      try {
        createEmailChannel({ smtpUrl, from: FROM, timeoutMs: 1000 });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, smtpUrl).toMatch(/^invalid SMTP URL/);
      expect(message).not.toContain(PASSWORD);
      expect(message).not.toContain(encodeURIComponent(PASSWORD));
      expect(message).not.toContain(USER);
    }
  });
});

describe('outcomeOfSmtpError', () => {
  const none = credentialsOf('smtp://mail.test');
  const smtpError = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'failed')), fields);

  it('follows the reply class: 4xx retry, 5xx permanent, but 503 and auth failures retry', () => {
    expect(outcomeOfSmtpError(smtpError({ code: 'EENVELOPE', responseCode: 452 }), none).status).toBe('retry');
    expect(outcomeOfSmtpError(smtpError({ code: 'EMESSAGE', responseCode: 421 }), none).status).toBe('retry');
    expect(outcomeOfSmtpError(smtpError({ code: 'EMESSAGE', responseCode: 552 }), none).status).toBe('permanent');
    expect(outcomeOfSmtpError(smtpError({ code: 'EENVELOPE', responseCode: 503 }), none).status).toBe('retry');
    expect(outcomeOfSmtpError(smtpError({ code: 'EAUTH', responseCode: 535 }), none).status).toBe('retry');
  });

  it('retries connection trouble and unknown errors; an envelope refused before sending is permanent', () => {
    for (const code of ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROTOCOL', 'ECONNRESET', undefined]) {
      expect(outcomeOfSmtpError(smtpError({ code }), none).status, String(code)).toBe('retry');
    }
    expect(outcomeOfSmtpError('boom', none).status).toBe('retry');
    expect(outcomeOfSmtpError(smtpError({ code: 'EENVELOPE', message: 'No recipients defined' }), none).status).toBe('permanent');
  });

  it('writes one redacted line with the codes in front', () => {
    const secrets = credentialsOf(`smtp://${USER}:${encodeURIComponent(PASSWORD)}@mail.test:587`);
    const outcome = outcomeOfSmtpError(smtpError({ code: 'ESOCKET', originalCode: 'ECONNRESET', message: `reset\r\nwhile ${USER} sent ${PASSWORD}` }), secrets);
    expect(outcome).toEqual({ status: 'retry', error: 'ESOCKET (ECONNRESET): reset while [redacted] sent [redacted]' });
  });

  it('removes a short user name only where it stands as a word, the password wherever it is', () => {
    const credentials = credentialsOf('smtp://u:pw%21@mail.test');
    const outcome = outcomeOfSmtpError(smtpError({ code: 'EAUTH', responseCode: 535, message: 'Authentication failed for u (xpw!x)' }), credentials);
    expect(outcome).toEqual({ status: 'retry', error: 'EAUTH: Authentication failed for [redacted] (x[redacted]x)' });
  });
});

/** A TCP server that accepts and never says a word: no SMTP greeting ever comes. */
function listenSilently(onConnection: () => void = () => {}): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    onConnection();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
