/**
 * Commands sent together, in groups whose keys share one hash slot. On one Redis all
 * groups go in one pipeline. On a Redis Cluster a pipeline must stay on one node, and
 * the groups' keys are spread over the shards: each group is its own pipeline, all sent
 * at once. Either way the replies come back as `pipeline.exec()` gives them, in the
 * order the commands were added: `[error, reply]` per command.
 */
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-client.js';

/** Adds the commands of one group (keys in one slot: one key, or one `{hash tag}`). */
export type SlotGroup = (pipeline: ChainableCommander) => void;

export type PipelineReplies = [error: Error | null, reply: unknown][];

export async function execInSlotGroups(redis: RedisClient, groups: readonly SlotGroup[]): Promise<PipelineReplies> {
  if (!redis.isCluster) {
    const pipeline = redis.pipeline();
    for (const group of groups) group(pipeline);
    return ((await pipeline.exec()) ?? []) as PipelineReplies;
  }
  const replies = await Promise.all(
    groups.map(async (group) => {
      const pipeline = redis.pipeline();
      group(pipeline);
      return ((await pipeline.exec()) ?? []) as PipelineReplies;
    }),
  );
  return replies.flat();
}
