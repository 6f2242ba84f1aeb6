/**
 * Run from a folder where the packed package is installed: a tiny Express app with a route
 * of its own, the gateway attached to it, one notification posted and listed, then
 * close(), after which the host route still answers. Prints one JSON line.
 */
export const ATTACH_SCRIPT = `
import { createServer } from 'node:http';
import express from 'express';
import { attachNotifyGateway } from 'notify-gateway';
const { DB, SECRET, KEY, TOKEN } = process.env;
const app = express();
app.get('/host/hello', (req, res) => res.json({ hello: 'host' }));
const httpServer = createServer(app);
const gateway = await attachNotifyGateway({
  app, httpServer, DATABASE_URL: 'sqlite:' + DB, JWT_SECRET: SECRET, NOTIFY_API_KEYS: [KEY], LOG_LEVEL: 'warn',
});
await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
const base = 'http://127.0.0.1:' + httpServer.address().port;
const postRes = await fetch(base + '/api/notify/build:finished', {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': KEY },
  body: JSON.stringify({ userId: 'u1', title: 'Build finished' }),
});
const posted = { status: postRes.status, body: await postRes.json() };
const listRes = await fetch(base + '/api/notifications', { headers: { authorization: 'Bearer ' + TOKEN } });
const listed = { status: listRes.status, body: await listRes.json() };
await gateway.close();
const hostAfterClose = (await fetch(base + '/host/hello')).status;
httpServer.close();
console.log(JSON.stringify({ posted, listed, hostAfterClose }));
`;
