/**
 * DeliveryPlanner — the `deliveries` consumer of the committed stream: turns the external
 * part of each notification (`channels`) into rows of the delivery queue.
 *
 * Rules:
 * - Exactly once: the rows of a batch and the move of the `deliveries` cursor commit in one
 *   transaction (delivery-repository.ts, commitPlan); a planner that lost its lease and
 *   planned the same positions finds the cursor moved and commits nothing. The unique key
 *   (message, channel, recipient, target) is a second fence.
 * - Nothing is dropped silently: a delivery that cannot be made is still a row, with
 *   status `suppressed` and a reason (`unknown_channel`, `no_address`, `no_subscription`,
 *   `preference`), listed for operators like every other.
 * - Policies (policy/policy.ts) decide each (recipient, channel) from the cached
 *   preferences: off → `suppressed`, reason `preference`; a digest window → the row joins
 *   the window (`suppressed`, reason `digested`, pointing at the digest row that will be
 *   sent when the window closes; store/digest-windows.ts). Browser push is never digested:
 *   a digest is a message per recipient and channel, a push goes to one device.
 * - Fan-out: webhook and wecom deliver once per notification and channel; email once per
 *   recipient with an address; webpush once per subscription of each recipient. A tenant
 *   broadcast reaches the tenant's recipients that have an address (or subscription).
 * - One leader per consumer (lease), like the realtime relay; positions without an
 *   external part only move the cursor.
 * - A step plans at most PLAN_ROWS_PER_STEP rows (a notification's rows go whole): it
 *   commits the positions planned so far and the next step goes on from there, so no
 *   transaction, and on SQLite no stretch of the event loop, grows with the batch.
 */
import type { Logger } from '../logger.js';
import { newMessageId } from '../outbox/message-id.js';
import type { ChannelRecord } from '../store/channel-repository.js';
import type { PlannedDelivery } from '../store/delivery-repository.js';
import { decodeDelivery } from '../store/message-codec.js';
import type { Store } from '../store/store.js';
import { RECIPIENT_ROWS_PER_READ, type DeliveryWork } from '../store/stream-repository.js';
import type { ConsumerLease } from '../stream/consumer-lease.js';
import type { Priority } from '../client/types.js';
import { decide, inputsFor, type PolicySnapshot, type PolicySource } from '../policy/policy.js';
import { TimeSlice } from '../event-loop.js';
import { ConsumerLoop, type ConsumerLoopOptions } from '../stream/consumer-loop.js';
import { consumerName } from '../stream/stream-partitions.js';

export interface PlannerOptions extends ConsumerLoopOptions {
  batchSize: number;
  maxAttempts: number;
  /** The stream partition this planner plans (stream/stream-partitions.ts); 0 when unset. */
  partition?: number;
}

/** Delivery rows one planning step commits at most, beyond one notification's own. */
export const PLAN_ROWS_PER_STEP = 2_000;

export class DeliveryPlanner {
  private readonly loop: ConsumerLoop;
  private position = 0;
  private readonly partition: number;
  private readonly cursorName: string;

  constructor(
    private readonly store: Store,
    private readonly policies: PolicySource,
    lease: ConsumerLease,
    private readonly options: PlannerOptions,
    logger: Logger,
    /** Called after a batch that queued deliveries: wakes this instance's worker. */
    private readonly onPlanned: () => void,
  ) {
    this.partition = options.partition ?? 0;
    this.cursorName = consumerName('deliveries', this.partition);
    this.loop = new ConsumerLoop(
      lease,
      {
        name: this.cursorName,
        onNewTerm: async () => {
          this.position = await this.store.stream.cursor(this.cursorName);
        },
        step: () => this.planOnce(),
      },
      options,
      logger,
    );
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  isLeader(): boolean {
    return this.loop.isLeader();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async planOnce(): Promise<number> {
    const work = await this.store.stream.readDeliveryWork(this.position, this.options.batchSize, this.partition);
    if (work.length === 0 || !this.loop.isLeader()) return 0;
    const { rows, planned } = await this.plan(work);
    const to = work[planned - 1]!.position;
    if (!(await this.store.deliveries.commitPlan(this.cursorName, this.position, to, rows))) {
      // Another planner recorded these positions (a lease handover): continue from its cursor.
      this.position = await this.store.stream.cursor(this.cursorName);
      return planned;
    }
    this.position = to;
    await this.store.stream.prune(this.partition);
    if (rows.some((r) => r.status === 'pending')) this.onPlanned();
    return planned;
  }

  /** The rows of the first `planned` entries of `work` (all of them unless the step filled up). */
  private async plan(work: readonly DeliveryWork[]): Promise<{ rows: PlannedDelivery[]; planned: number }> {
    const external = work.flatMap((w, index) => {
      const spec = decodeDelivery(w.delivery);
      return spec && w.tenantId ? [{ ...w, index, tenantId: w.tenantId, spec }] : [];
    });
    if (external.length === 0) return { rows: [], planned: work.length };
    // One channel lookup per tenant and batch, not per notification.
    const channelsByTenant = new Map<string, Map<string, ChannelRecord>>();
    for (const [tenantId, names] of groupNames(external)) channelsByTenant.set(tenantId, await this.store.channels.findMany(tenantId, names));
    // Recipients only for notifications that reach users one by one (email, webpush).
    const perUser = external.filter(
      (item) => item.scope !== 'tenant' && item.spec.channels.some((n) => isPerUser(channelsByTenant.get(item.tenantId)?.get(n))),
    );
    // In one read when they are few together (the usual case), else each notification's
    // own when it is planned: a step may stop early, and 500 × 1,000 recipients is a lot.
    const few = await this.store.stream.recipientsIfFew(perUser.map((w) => w.messageId), RECIPIENT_ROWS_PER_READ);
    const recipientsOf = async (messageId: string) =>
      (few ?? (await this.store.stream.recipientsOf([messageId]))).get(messageId) ?? [];
    const rows: PlannedDelivery[] = [];
    const slice = new TimeSlice();
    for (const item of external) {
      if (rows.length >= PLAN_ROWS_PER_STEP) return { rows, planned: item.index };
      await slice.pause();
      const candidates: PlannedDelivery[] = [];
      const channels = channelsByTenant.get(item.tenantId)!;
      const perUserChannel = item.spec.channels.some((n) => isPerUser(channels.get(n)));
      // null = the whole tenant (a broadcast).
      const users = item.scope === 'tenant' ? null : perUserChannel ? await recipientsOf(item.messageId) : [];
      const row = (channel: string, channelType: string, recipient: string, target: string, reason: string | null): PlannedDelivery => ({
        id: newMessageId(),
        tenantId: item.tenantId,
        messageId: item.messageId,
        channel,
        channelType,
        recipient,
        target,
        status: reason === null ? 'pending' : 'suppressed',
        reason,
        maxAttempts: this.options.maxAttempts,
      });
      for (const name of new Set(item.spec.channels)) {
        const channel = channels.get(name);
        if (!channel) {
          candidates.push(row(name, 'unknown', '', '', 'unknown_channel'));
        } else if (channel.type === 'email') {
          const reachable = await this.store.recipients.withEmail(item.tenantId, users);
          for (const user of users ?? reachable) candidates.push(row(name, 'email', user, '', reachable.has(user) ? null : 'no_address'));
        } else if (channel.type === 'webpush') {
          const subscriptions = await this.store.pushSubscriptions.forUsers(item.tenantId, users);
          for (const user of users ?? subscriptions.keys()) {
            const ids = subscriptions.get(user) ?? [];
            if (ids.length === 0) candidates.push(row(name, 'webpush', user, '', 'no_subscription'));
            for (const id of ids) candidates.push(row(name, 'webpush', user, id, null));
          }
        } else {
          candidates.push(row(name, channel.type, '', '', null));
        }
      }
      const userIds = [...new Set(candidates.filter((r) => r.recipient !== '' && r.status === 'pending').map((r) => r.recipient))];
      const kind = item.kind ?? '';
      const snapshot = await this.policies.load(item.tenantId, kind, userIds);
      const digestKey = item.spec.digestKey ?? kind;
      const createdAt = item.createdAt ?? Date.now();
      for (const candidate of candidates) rows.push(applyPolicy(candidate, snapshot, kind, (item.priority ?? 'medium') as Priority, digestKey, createdAt));
    }
    return { rows, planned: work.length };
  }
}

/** The policy's decision for one planned row (see the header). */
function applyPolicy(row: PlannedDelivery, snapshot: PolicySnapshot, kind: string, priority: Priority, digestKey: string, createdAt: number): PlannedDelivery {
  if (row.status !== 'pending') return row;
  const decision = decide(inputsFor(snapshot, kind, priority, row.recipient === '' ? null : row.recipient), { name: row.channel, type: row.channelType });
  if (!decision.enabled) return { ...row, status: 'suppressed', reason: 'preference' };
  if (decision.digestMinutes === null || row.channelType === 'webpush') return row;
  // The window is timed from the event (its commit), not from when planning caught up.
  return { ...row, digest: { key: digestKey, closesAt: createdAt + Math.round(decision.digestMinutes * 60_000) } };
}

const isPerUser = (channel: ChannelRecord | undefined) => channel?.type === 'email' || channel?.type === 'webpush';

function groupNames(items: readonly { tenantId: string; spec: { channels: string[] } }[]): Map<string, string[]> {
  const byTenant = new Map<string, Set<string>>();
  for (const item of items) {
    const names = byTenant.get(item.tenantId) ?? new Set<string>();
    for (const name of item.spec.channels) names.add(name);
    byTenant.set(item.tenantId, names);
  }
  return new Map([...byTenant].map(([tenant, names]) => [tenant, [...names]]));
}
