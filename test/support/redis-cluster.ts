/**
 * A private Redis Cluster for one test file: 3 masters + 3 replicas, six redis-server
 * processes on free loopback ports (client and bus port each chosen, never fixed), each
 * in its own directory of one temp dir, joined by `redis-cli --cluster create`. A short
 * node timeout makes a killed master fail over to its replica within a few seconds.
 * `destroy()` kills every process and removes the temp dir; a process exit does the
 * killing too, in case the test never reaches its teardown.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { until } from './until.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
/** Milliseconds before a silent master counts as failed (Redis' default is 15 s). */
const NODE_TIMEOUT_MS = 1000;

interface ClusterNode {
  port: number;
  process: ChildProcess | null;
}

export interface ShardMaster {
  port: number;
  /** Slot ranges it serves, inclusive. */
  ranges: [number, number][];
}

export class RedisCluster {
  private readonly exitGuard = () => this.killAll();

  private constructor(
    private readonly dir: string,
    readonly nodes: ClusterNode[],
  ) {
    process.once('exit', this.exitGuard);
  }

  static async start(masters = 3, replicasPerMaster = 1): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'notify-redis-cluster-'));
    const cluster = new RedisCluster(dir, []);
    try {
      for (let i = 0; i < masters * (1 + replicasPerMaster); i++) cluster.nodes.push(await cluster.startNode(i));
      const addresses = cluster.nodes.map((node) => `${HOST}:${node.port}`);
      await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes']);
      await cluster.waitHealthy(masters);
      await cluster.waitReplicasInSync();
      return cluster;
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
  }

  /** For REDIS_CLUSTER_NODES: every node as a seed. */
  get seeds(): string {
    return this.nodes.map((node) => `${HOST}:${node.port}`).join(',');
  }

  /** The hash slot of a key or channel, as the cluster computes it. */
  async keyslot(key: string): Promise<number> {
    return Number((await this.cli(this.liveNode().port, 'CLUSTER', 'KEYSLOT', key)).trim());
  }

  /** The live masters and the slots each serves, as a live node sees them. */
  async masters(): Promise<ShardMaster[]> {
    const out = await this.cli(this.liveNode().port, 'CLUSTER', 'NODES');
    return out
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .filter((fields) => fields[2]!.split(',').includes('master') && !fields[2]!.includes('fail'))
      .map((fields) => ({
        port: Number(fields[1]!.split(':')[1]!.split('@')[0]),
        ranges: fields.slice(8).filter((r) => /^\d/.test(r)).map((r) => {
          const [from, to] = r.split('-').map(Number);
          return [from!, to ?? from!] as [number, number];
        }),
      }));
  }

  async masterOfSlot(slot: number): Promise<number> {
    const master = (await this.masters()).find((m) => m.ranges.some(([from, to]) => slot >= from && slot <= to));
    if (!master) throw new Error(`no live master serves slot ${slot}`);
    return master.port;
  }

  /** Client connections open on the live nodes (replication links and this query left out). */
  async clientConnections(): Promise<number> {
    let count = 0;
    for (const node of this.nodes.filter((n) => n.process)) {
      const lines = (await this.cli(node.port, 'CLIENT', 'LIST')).trim().split('\n');
      count += lines.filter((line) => !/ flags=\S*[SM]/.test(line) && !/ cmd=client\|list/.test(line)).length;
    }
    return count;
  }

  /** Kills one node for real (SIGKILL: no goodbye to its clients) and waits for its exit. */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    const child = node?.process;
    if (!node || !child) throw new Error(`no running node on ${port}`);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    node.process = null;
  }

  /**
   * Every live node reports `cluster_state:ok`, and the live masters (`masters` of them)
   * serve all 16384 slots: after a kill, the replica has taken over.
   */
  async waitHealthy(masters = 3, timeoutMs = 30_000): Promise<number> {
    return until(
      async () => {
        for (const node of this.nodes.filter((n) => n.process)) {
          if (!/cluster_state:ok/.test(await this.cli(node.port, 'CLUSTER', 'INFO'))) return false;
        }
        const live = await this.masters();
        const alive = new Set(this.nodes.filter((n) => n.process).map((n) => n.port));
        const served = live.filter((m) => alive.has(m.port)).reduce((sum, m) => sum + m.ranges.reduce((s, [a, b]) => s + b - a + 1, 0), 0);
        return live.length === masters && live.every((m) => alive.has(m.port)) && served === 16384;
      },
      'the Redis Cluster to report ok with every slot on a live master',
      timeoutMs,
      100,
    );
  }

  /**
   * Every replica has its master link up: a replica that never synced counts itself too
   * stale to take over, so a master killed before that would not fail over.
   */
  async waitReplicasInSync(timeoutMs = 30_000): Promise<number> {
    return until(
      async () => {
        for (const node of this.nodes.filter((n) => n.process)) {
          const info = await this.cli(node.port, 'INFO', 'replication');
          if (/role:slave/.test(info) && !/master_link_status:up/.test(info)) return false;
        }
        return true;
      },
      'every Redis Cluster replica to sync with its master',
      timeoutMs,
      100,
    );
  }

  async destroy(): Promise<void> {
    process.off('exit', this.exitGuard);
    const exits = this.nodes
      .map((node) => node.process)
      .filter((child): child is ChildProcess => child !== null)
      .map((child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve()))));
    this.killAll();
    await Promise.all(exits);
    for (const node of this.nodes) node.process = null;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private killAll(): void {
    for (const node of this.nodes) node.process?.kill('SIGKILL');
  }

  private liveNode(): ClusterNode {
    const node = this.nodes.find((n) => n.process);
    if (!node) throw new Error('no live Redis Cluster node');
    return node;
  }

  private async startNode(index: number): Promise<ClusterNode> {
    const [port, busPort] = [await freePort(), await freePort()];
    const dir = join(this.dir, String(index));
    mkdirSync(dir);
    const args = [
      '--port', String(port), '--cluster-port', String(busPort), '--bind', HOST,
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
      '--save', '', '--appendonly', 'no', '--dir', dir,
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    const node: ClusterNode = { port, process: child };
    child.once('exit', () => (node.process = null));
    await until(async () => node.process === child && (await this.cli(port, 'PING')).trim() === 'PONG', `redis-server on ${port}`, 10_000);
    return node;
  }

  private async cli(port: number, ...command: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-h', HOST, '-p', String(port), ...command], { timeout: 5000 });
    return stdout;
  }
}
