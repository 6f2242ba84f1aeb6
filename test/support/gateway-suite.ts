/**
 * One gateway per test file: registers beforeAll/afterAll, and closes every session
 * opened through `connect` before the gateway stops.
 */
import { afterAll, beforeAll } from 'vitest';
import type { GatewayOptions } from '../../src/gateway.js';
import { createTestBed, type RunningGateway, type TestBed } from './harness.js';
import { TestClient } from './test-client.js';

export interface GatewaySuite {
  readonly bed: TestBed;
  readonly gw: RunningGateway;
  readonly clients: TestClient[];
  connect(...args: Parameters<typeof TestClient.connect>): Promise<TestClient>;
}

export function useGateway(env: Record<string, string> = {}, options: GatewayOptions = {}): GatewaySuite {
  let bed: TestBed | undefined;
  let gw: RunningGateway | undefined;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    bed = await createTestBed();
    gw = await bed.start(env, options);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await bed?.stopAll();
  });
  return {
    get bed() {
      if (!bed) throw new Error('the gateway suite has not started');
      return bed;
    },
    get gw() {
      if (!gw) throw new Error('the gateway suite has not started');
      return gw;
    },
    clients,
    async connect(...args) {
      const client = await TestClient.connect(...args);
      clients.push(client);
      return client;
    },
  };
}
