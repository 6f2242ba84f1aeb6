import path from 'node:path';
import type { NextConfig } from 'next';

// Where the gateway listens, seen from the Next.js server. Read by `next build`.
const gateway = process.env.NOTIFY_GATEWAY_URL ?? 'http://localhost:3000';

const nextConfig: NextConfig = {
  // `notify-gateway` is linked from the repository root (`file:../..`): Turbopack only
  // reads files under its root, so the root is the repository.
  turbopack: { root: path.join(__dirname, '..', '..') },
  // Socket.IO asks for `/socket.io/?EIO=4…`; without this Next redirects to `/socket.io`.
  skipTrailingSlashRedirect: true,
  async rewrites() {
    // The gateway sends no CORS headers by default, so the browser reaches it through this origin.
    return [
      { source: '/socket.io/', destination: `${gateway}/socket.io/` },
      { source: '/api/notifications', destination: `${gateway}/api/notifications` },
      { source: '/api/notifications/:path*', destination: `${gateway}/api/notifications/:path*` },
      { source: '/api/preferences', destination: `${gateway}/api/preferences` },
      { source: '/api/stream', destination: `${gateway}/api/stream` },
    ];
  },
};

export default nextConfig;
