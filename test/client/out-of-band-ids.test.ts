/** The SDK's record of ids delivered out of band, waiting for their in-order copy. */
import { describe, expect, it } from 'vitest';
import { OutOfBandIds } from '../../src/client/out-of-band-ids.js';
import { memoryStorage } from '../../src/client/support.js';

describe('OutOfBandIds', () => {
  it('remembers an id until its in-order copy takes it, across a reload', () => {
    const storage = memoryStorage();
    const before = new OutOfBandIds(storage);
    before.load('k');
    before.add('u1');
    const after = new OutOfBandIds(storage); // a reloaded page
    after.load('k');
    expect(after.has('u1')).toBe(true);
    expect(after.take('u1')).toBe(true);
    expect(after.take('u1')).toBe(false);
    const again = new OutOfBandIds(storage);
    again.load('k');
    expect(again.has('u1')).toBe(false);
  });

  it('keeps users apart, and keeps nothing without a key', () => {
    const storage = memoryStorage();
    const ids = new OutOfBandIds(storage);
    ids.load('alice');
    ids.add('a1');
    ids.load('bob');
    expect(ids.has('a1')).toBe(false);
    ids.load(null);
    ids.add('x');
    ids.load('alice');
    expect([ids.has('a1'), ids.has('x')]).toEqual([true, false]);
  });

  it('forgets the oldest past 200, and ignores a stored value it cannot read', () => {
    const storage = memoryStorage();
    const ids = new OutOfBandIds(storage);
    ids.load('k');
    for (let i = 0; i < 201; i++) ids.add(`id${i}`);
    expect([ids.has('id0'), ids.has('id1'), ids.has('id200')]).toEqual([false, true, true]);
    storage.set('broken', '{not json');
    ids.load('broken');
    expect(ids.has('id1')).toBe(false);
  });
});
