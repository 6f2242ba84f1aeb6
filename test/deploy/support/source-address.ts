/**
 * Socket.IO / fetch options that make a Node client connect from a chosen loopback
 * address (127.0.0.0/8 is all local on Linux). nginx's sticky upstream hashes on the
 * client address, so test clients from different addresses spread over the instances
 * the way real users do, and one address always reaches the same instance.
 */
import { Agent, request } from 'node:http';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';

export const loopbackAddress = (n: number) => `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;

export function fromAddress(localAddress: string): Partial<ManagerOptions & SocketOptions> {
  // engine.io-client passes `agent` to the polling transport's http.request and
  // `localAddress` to the WebSocket; its `agent` type is narrowed for browsers.
  const agent = new Agent({ localAddress, keepAlive: false });
  return { agent: agent as unknown as string, localAddress } as Partial<ManagerOptions & SocketOptions>;
}

export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTP request from a chosen source address (fetch cannot pick one). */
export function httpFrom(
  localAddress: string,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, localAddress, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
