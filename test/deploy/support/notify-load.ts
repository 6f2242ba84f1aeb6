/**
 * Load for the cluster test: one sequential POST loop per user, spread over several
 * base URLs (instances and nginx). Sequential per user means each POST commits before
 * the next starts, so the order of POSTs is the user's commit order. Every
 * notification carries a dedupe key, so a retry after a lost response (instance killed
 * mid-request) returns the first id instead of writing a second notification.
 *
 * One connection per POST (Connection: close), as nginx/ talks to the instances: a
 * busy keep-alive connection keeps a draining gateway serving until its shutdown
 * deadline (Node's server.close() does not end it), which would turn every rolling
 * reload step into a 10 s wait.
 */
import { request } from 'node:http';
import { API_KEY } from '../../support/harness.js';
import { pace } from './wait.js';

export interface Recipient {
  key: string;
  tenantId: string;
  userId: string;
}

export interface Posted {
  id: string;
  recipient: Recipient;
  seq: number;
  phase: string;
  postedAt: number;
  committedAt: number;
}

export interface Rejection {
  phase: string;
  target: string;
  status: number;
  body: string;
}

export class NotifyLoad {
  readonly posted: Posted[] = [];
  /** Per recipient key: ids in commit order. */
  readonly expected = new Map<string, string[]>();
  readonly statuses = new Map<string, number>();
  /** Answers other than 2xx (network errors are only counted in `statuses`). */
  readonly rejections: Rejection[] = [];
  phase = 'setup';
  private running = false;
  private loops: Promise<void>[] = [];
  private nextSeq = new Map<string, number>();
  private rotation = 0;

  constructor(
    private readonly targets: readonly string[],
    private readonly recipients: readonly Recipient[],
  ) {
    for (const r of recipients) this.expected.set(r.key, []);
  }

  /** One notification to `recipient`, retried on other targets until it commits. */
  async post(recipient: Recipient): Promise<Posted> {
    const seq = this.nextSeq.get(recipient.key) ?? 0;
    this.nextSeq.set(recipient.key, seq + 1);
    const phase = this.phase;
    const postedAt = Date.now();
    const body = JSON.stringify({
      tenantId: recipient.tenantId,
      userId: recipient.userId,
      title: `${recipient.key} #${seq}`,
      data: { seq },
      dedupeKey: `${recipient.key}:${seq}`,
    });
    let start = this.rotation++;
    for (;;) {
      const target = this.targets[start++ % this.targets.length]!;
      const outcome = await postJson(`${target}/api/notify/cluster:test`, body).catch(() => ({ status: 0, text: '' }));
      const label = outcome.status === 0 ? 'network error' : String(outcome.status);
      this.statuses.set(label, (this.statuses.get(label) ?? 0) + 1);
      const id = outcome.status === 201 || outcome.status === 200 ? (JSON.parse(outcome.text) as { id?: string }).id : undefined;
      if (id) {
        const posted: Posted = { id, recipient, seq, phase, postedAt, committedAt: Date.now() };
        this.posted.push(posted);
        this.expected.get(recipient.key)!.push(posted.id);
        return posted;
      }
      if (outcome.status !== 0) this.rejections.push({ phase, target, status: outcome.status, body: outcome.text.slice(0, 200) });
      if (Date.now() - postedAt > 30_000) throw new Error(`${recipient.key} #${seq} did not commit within 30 s`);
      await pace(100); // back off before the next target
    }
  }

  start(intervalMs: number): void {
    this.running = true;
    this.loops = this.recipients.map(async (recipient) => {
      while (this.running) {
        await this.post(recipient);
        await pace(intervalMs);
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  postedSince(time: number): Posted[] {
    return this.posted.filter((p) => p.postedAt >= time);
  }
}

function postJson(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        timeout: 5000,
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, connection: 'close' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}
