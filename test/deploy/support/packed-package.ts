/**
 * The package as a user gets it: the sources copied to a temporary folder (the repository's
 * dist/ is never touched, so tests running from it are not disturbed), `npm pack` there (its
 * prepack builds dist/), and the tarball installed into an empty app folder with
 * `npm install`, which fetches the dependencies and runs their install scripts.
 */
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_KEYS } from '../../../src/config/config.js';
import { repoPath, run } from './repo.js';

export interface PackedPackage {
  tarball: string;
  /** Paths inside the tarball, without the leading `package/`. */
  files: string[];
  /** The app folder the tarball is installed in. */
  app: string;
  /** How long `npm install` took, for the test's report. */
  installMs: number;
}

/** What `npm run build` reads besides the files the package ships. */
const BUILD_INPUTS = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'src', 'migrations'];

/**
 * The environment of the test run minus what an outer `npm test` put there for itself and
 * any gateway setting of the shell: each test sets the ones it means.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const settings = new Set<string>(CONFIG_KEYS);
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && !settings.has(key)));
  return { ...env, ...extra };
}

async function mustRun(file: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const result = await run(file, args, { cwd, env: cleanEnv(), timeoutMs });
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

export async function packAndInstall(work: string): Promise<PackedPackage> {
  const manifest = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { name: string; version: string; files: string[] };
  const source = join(work, 'source');
  const shipped = manifest.files.filter((entry) => !entry.startsWith('!') && !entry.startsWith('dist'));
  for (const entry of new Set([...BUILD_INPUTS, ...shipped])) cpSync(repoPath(entry), join(source, entry), { recursive: true });
  symlinkSync(repoPath('node_modules'), join(source, 'node_modules'), 'dir');

  await mustRun('npm', ['pack', '--pack-destination', work], source, 300_000);
  const tarball = join(work, `${manifest.name}-${manifest.version}.tgz`);
  const listing = await mustRun('tar', ['-tzf', tarball], work, 30_000);
  const files = listing.split('\n').filter(Boolean).map((path) => path.replace(/^package\//, ''));

  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'notify-app', private: true, type: 'module' }, null, 2));
  const started = Date.now();
  await mustRun('npm', ['install', '--no-audit', '--no-fund', tarball], app, 600_000);
  return { tarball, files, app, installMs: Date.now() - started };
}

/** Starts a gateway from the package root, posts one notification and lists it; prints JSON. */
export const EMBED_SCRIPT = `
import { createNotifyGateway, ConfigError } from 'notify-gateway';
const { DB, SECRET, KEY, TOKEN } = process.env;
const gateway = await createNotifyGateway({
  DATABASE_URL: 'sqlite:' + DB, HOST: '127.0.0.1', PORT: 0, JWT_SECRET: SECRET, NOTIFY_API_KEYS: [KEY], LOG_LEVEL: 'warn',
});
const port = await gateway.listen();
const base = 'http://127.0.0.1:' + port;
const postRes = await fetch(base + '/api/notify/build:finished', {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': KEY },
  body: JSON.stringify({ userId: 'u1', title: 'Build finished' }),
});
const posted = { status: postRes.status, body: await postRes.json() };
const listRes = await fetch(base + '/api/notifications', { headers: { authorization: 'Bearer ' + TOKEN } });
const listed = { status: listRes.status, body: await listRes.json() };
let refused = null;
try {
  await createNotifyGateway({ PROT: 3000 });
} catch (error) {
  refused = { configError: error instanceof ConfigError, message: error.message };
}
await gateway.close();
console.log(JSON.stringify({ port, posted, listed, refused }));
`;

/** Type-checks every entry point under NodeNext; each @ts-expect-error fails if its types were \`any\`. */
export const TYPES_CHECK = `
import { createNotifyGateway, ConfigError, type NotifyGateway, type NotifyGatewayOptions } from 'notify-gateway';
import { createNotificationClient, type NotificationClient } from 'notify-gateway/client';
import { useNotifications, type UseNotificationsResult } from 'notify-gateway/client/react';

const options: NotifyGatewayOptions = { PORT: 0, NOTIFY_API_KEYS: ['key-0123456789abcdef'], WRITE_BATCHING: true };
// @ts-expect-error a setting the gateway does not know
const typo: NotifyGatewayOptions = { PROT: 3000 };
const port: Promise<number> = createNotifyGateway(options).then((gateway: NotifyGateway) => gateway.listen());
const isConfigError = (error: unknown): boolean => error instanceof ConfigError;
// @ts-expect-error the client takes an options object
const client: NotificationClient = createNotificationClient(42);
// @ts-expect-error the hook takes an options object
const result: UseNotificationsResult = useNotifications('url');
export { typo, port, isConfigError, client, result };
`;

/** The app's tsconfig: Node's own resolution of "exports", @types/node from the repository. */
export function typesConfig(): string {
  return JSON.stringify({
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      lib: ['es2022', 'dom'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [repoPath('node_modules', '@types')],
    },
    files: ['check.ts'],
  });
}
