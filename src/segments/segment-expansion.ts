/**
 * Who a segment notification reaches, found when the relay emits it: the members of its
 * segments at that moment, not at write time (store/segment-repository.ts).
 *
 * - Read in pages of MEMBERS_PER_EMIT user ids from one snapshot, the event loop turning
 *   between pages; each page becomes one emit. The adapter carries an emit's room list to
 *   every instance in one message, so a segment of 100,000 members goes out as 100 emits
 *   of 1,000 rooms rather than one message of megabytes. Pages never overlap, so a user
 *   in several of the message's segments gets it once.
 * - One expansion per relay batch: messages of the batch sent to the same segments share
 *   one read (and one copy of the member lists), and see the same membership.
 * - Preferences do not apply (nobody is a recipient in advance), as for topics.
 */
import { TimeSlice } from '../event-loop.js';
import type { SegmentRepository } from '../store/segment-repository.js';

/** User rooms per emit, and user ids per read. */
export const MEMBERS_PER_EMIT = 1_000;

export class SegmentExpansion {
  private readonly read = new Map<string, Promise<string[][]>>();

  constructor(private readonly segments: Pick<SegmentRepository, 'forEachMemberPage'>) {}

  /** The distinct members of `names` in the tenant, in pages of at most MEMBERS_PER_EMIT. */
  membersOf(tenantKey: string, names: readonly string[]): Promise<string[][]> {
    const key = `${tenantKey}\u0000${[...names].sort().join('\u0000')}`;
    let pages = this.read.get(key);
    if (!pages) {
      pages = this.readPages(tenantKey, names);
      this.read.set(key, pages);
    }
    return pages;
  }

  private async readPages(tenantKey: string, names: readonly string[]): Promise<string[][]> {
    const pages: string[][] = [];
    const slice = new TimeSlice();
    await this.segments.forEachMemberPage(tenantKey, names, MEMBERS_PER_EMIT, async (userIds) => {
      pages.push(userIds);
      await slice.pause();
    });
    return pages;
  }
}
