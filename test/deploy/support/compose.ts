/**
 * docker-compose.yml as data, and its one-shot "migrate" service run here (no Docker
 * engine): the service's command with the service's environment, as the image runs it.
 */
import { API_KEY, JWT_SECRET } from '../../support/harness.js';
import { loadYaml, readRepoFile, run, type CommandResult } from './repo.js';

export interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  stop_grace_period?: string;
}

export interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { ipam: { config: { subnet: string }[] } }>;
  volumes: Record<string, unknown>;
}

export const loadCompose = () => loadYaml<Compose>('docker-compose.yml');

/** What an operator would export before `docker compose up`. */
export const OPERATOR_ENV: Record<string, string> = {
  MYSQL_PASSWORD: 'notify-password',
  MYSQL_ROOT_PASSWORD: 'root-password',
  JWT_SECRET,
  NOTIFY_API_KEYS: API_KEY,
  GRAFANA_ADMIN_PASSWORD: 'admin-password',
};

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` against `vars`. */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)(?::?([-?])([^}]*))?\}/g, (_all, name: string, op?: string, arg?: string) => {
    const found = vars[name];
    if (found !== undefined && found !== '') return found;
    if (op === '-') return arg ?? '';
    throw new Error(`docker-compose.yml needs ${name}: ${arg ?? 'unset'}`);
  });
}

/** ENV lines of the Dockerfile's final stage: what every container starts with. */
export function imageEnv(): Record<string, string> {
  const dockerfile = readRepoFile('Dockerfile');
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const [, body] of finalStage.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
    for (const [, key, value] of body!.replace(/\\\n/g, ' ').matchAll(/([A-Z_]+)=(\S+)/g)) env[key!] = value!;
  }
  return env;
}

export async function runMigrateService(databaseUrl: string): Promise<CommandResult> {
  const service = loadCompose().services.migrate!;
  const [file, ...args] = service.command as string[];
  const environment = Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), OPERATOR_ENV)]),
  );
  const env = { ...imageEnv(), PATH: process.env.PATH ?? '', ...environment, DATABASE_URL: databaseUrl };
  return run(file!, args, { env });
}
