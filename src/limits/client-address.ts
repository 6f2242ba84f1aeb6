/**
 * The client address of a request, for limits per address.
 *
 * - Computed exactly as Express computes `req.ip` (proxy-addr over the socket address and
 *   `X-Forwarded-For`, with the same TRUST_PROXY value compiled by Express): the Socket.IO
 *   handshake request and the SSE request of one client get the same address. Without
 *   TRUST_PROXY it is the socket's peer address and `X-Forwarded-For` is ignored.
 * - The limit subject is the IPv4 address (an IPv4-mapped IPv6 address counts as its
 *   IPv4 address), or the /64 prefix of an IPv6 address: one host is usually given a
 *   whole /64, so counting single IPv6 addresses would let it pick a fresh one per try.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import express from 'express';

export type AddressOf = (req: Pick<IncomingMessage, 'headers' | 'socket'>) => string;

/** `req.ip` as Express sees it with `trust proxy` = `trustProxy`, for any Node request. */
export function clientAddressResolver(trustProxy: string | undefined): AddressOf {
  const app = express();
  if (trustProxy) app.set('trust proxy', trustProxy);
  return (req) => {
    const ip: unknown = Reflect.get(app.request, 'ip', { app, headers: req.headers, socket: req.socket });
    return typeof ip === 'string' && ip !== '' ? ip : (req.socket.remoteAddress ?? 'unknown');
  };
}

/** The key a limit per address counts under: the IPv4 address, or the IPv6 /64. */
export function addressSubject(ip: string): string {
  const bare = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (!isIPv6(bare)) return bare;
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const [head = '', tail] = bare.split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
