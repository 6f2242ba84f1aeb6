/**
 * Timeouts of the HTTP server (config HTTP_*_TIMEOUT_MS), against clients that hold a
 * connection without finishing a request (slowloris):
 *
 * - headersTimeout: the request's headers must arrive within it. Node counts a fresh
 *   connection's first request from the moment it connects, so a client that connects
 *   and sends nothing is closed by it too (measured: with Node's defaults such a client
 *   stayed ~90 s: 60 s headersTimeout, checked every 30 s; now HTTP_HEADERS_TIMEOUT_MS
 *   plus at most one check interval, with `408 Request Timeout`).
 * - requestTimeout: the whole request, body included. Once a request has arrived it no
 *   longer counts: SSE streams, long-polls and upgraded WebSockets stay open.
 * - keepAliveTimeout: idle time between requests on a kept-alive connection.
 *
 * Node checks the first two every `connectionsCheckingInterval` (default 30 s): a tenth
 * of the headers timeout here, between 50 ms and 1 s.
 */
import type { ServerOptions } from 'node:http';
import type { Config } from '../config/config.js';

type TimeoutConfig = Pick<Config, 'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_KEEP_ALIVE_TIMEOUT_MS'>;

export function httpServerOptions(config: TimeoutConfig): ServerOptions {
  return {
    headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(config.HTTP_HEADERS_TIMEOUT_MS / 10))),
  };
}
