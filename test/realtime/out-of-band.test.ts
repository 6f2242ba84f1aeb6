/** Which committed notifications go out of band, to which rooms, with which payload. */
import { describe, expect, it } from 'vitest';
import type { NotificationInput } from '../../src/outbox/notification-writer.js';
import { outOfBandEmits } from '../../src/realtime/out-of-band.js';

const createdAt = Date.UTC(2026, 0, 2, 3, 4, 5);
const input = (extra: Partial<NotificationInput>): NotificationInput => ({
  tenantId: 'acme',
  kind: 'alarm:fired',
  scope: 'user',
  userIds: ['a', 'b'],
  title: 'Disk full',
  priority: 'urgent',
  ...extra,
});

describe('outOfBandEmits', () => {
  it('emits only the urgent ones, in order, with the payload the relay sends later', () => {
    const emits = outOfBandEmits({
      createdAt,
      notifications: [
        { id: 'n1', input: input({ priority: 'high' }) },
        { id: 'n2', input: input({ body: 'on /var', data: { host: 'db1' }, ttlSeconds: 60 }) },
        { id: 'n3', input: input({ priority: 'low' }) },
        { id: 'n4', input: input({ userIds: ['c'] }) },
      ],
    });
    expect(emits.map((e) => e.notification.id)).toEqual(['n2', 'n4']);
    expect(emits[0]).toEqual({
      tenantKey: 'acme',
      rooms: ['user:acme:a', 'user:acme:b'],
      notification: {
        id: 'n2',
        kind: 'alarm:fired',
        title: 'Disk full',
        body: 'on /var',
        data: { host: 'db1' },
        priority: 'urgent',
        scope: 'user',
        tenantId: 'acme',
        createdAt: '2026-01-02T03:04:05.000Z',
      },
    });
    expect(emits[1]!.notification).toMatchObject({ body: null, data: null });
  });

  it('goes to the tenant room for a tenant broadcast', () => {
    const [emit] = outOfBandEmits({ createdAt, notifications: [{ id: 't1', input: input({ scope: 'tenant', userIds: [] }) }] });
    expect(emit!.rooms).toEqual(['tenant:acme']);
  });

  it('goes to the topics’ rooms for a topic message, and to the named devices only', () => {
    const [topic, devices] = outOfBandEmits({
      createdAt,
      notifications: [
        { id: 'p1', input: input({ scope: 'topic', userIds: [], topics: ['order:1', 'order:2'] }) },
        { id: 'd1', input: input({ userIds: ['a'], devices: ['phone-1'] }) },
      ],
    });
    expect(topic!.rooms).toEqual(['topic:acme:order:1', 'topic:acme:order:2']);
    expect(topic!.notification).toMatchObject({ scope: 'topic', topics: ['order:1', 'order:2'] });
    expect(devices!.rooms).toEqual(['device:acme:1:a:phone-1']);
  });

  it('skips muted recipients, and emits nothing when every recipient is muted', () => {
    const emits = outOfBandEmits({
      createdAt,
      notifications: [
        { id: 'm1', input: input({ userIds: ['a', 'b', 'c'], mutedUserIds: ['b'] }) },
        { id: 'm2', input: input({ userIds: ['a'], mutedUserIds: ['a'] }) },
      ],
    });
    expect(emits).toHaveLength(1);
    expect(emits[0]!.rooms).toEqual(['user:acme:a', 'user:acme:c']);
  });
});
