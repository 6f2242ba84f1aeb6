/**
 * `notify_instance_info{host} 1`: which machine an instance runs on. Sockets, memory and
 * CPU are budgeted per machine, and several instances share one (pm2 runs four per box),
 * so alerts and panels sum per host by joining on this series:
 *   sum by (host) (notify_connected_sockets * on (job, instance) group_left (host) notify_instance_info)
 * The host is the OS hostname: every process of one machine (or one container) reports
 * the same value without any configuration.
 */
import { hostname } from 'node:os';
import { Gauge, type Registry } from 'prom-client';

export function instanceInfo(registers: Registry[], host = hostname()) {
  const info = new Gauge({
    name: 'notify_instance_info',
    help: 'Always 1; the host label names the machine this instance runs on (join on it to sum per host)',
    labelNames: ['host'] as const,
    registers,
  });
  info.set({ host }, 1);
  return info;
}
