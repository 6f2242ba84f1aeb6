/**
 * The repository's pm2 (node_modules/.bin/pm2) with its own PM2_HOME in a temp dir, so
 * a test never talks to, or leaves behind, a global pm2 daemon. `kill()` stops the
 * daemon and every app it started.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath, run, type CommandResult } from './repo.js';

export interface Pm2Process {
  name: string;
  pmId: number;
  pid: number;
  status: string;
  restarts: number;
  port: number;
}

export class Pm2 {
  readonly home = mkdtempSync(join(tmpdir(), 'notify-pm2-'));
  readonly logDir = join(this.home, 'app-logs');

  /** `env` is the whole environment of every pm2 command (nothing leaks from the test's). */
  constructor(private readonly env: Record<string, string>) {}

  async run(args: readonly string[], timeoutMs = 60_000, extraEnv: Record<string, string> = {}): Promise<CommandResult> {
    const result = await run(repoPath('node_modules', '.bin', 'pm2'), args, {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: this.home,
        PM2_HOME: this.home,
        NOTIFY_LOG_DIR: this.logDir,
        ...this.env,
        ...extraEnv,
      },
      timeoutMs,
    });
    if (result.code !== 0) throw new Error(`pm2 ${args.join(' ')} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  async list(): Promise<Pm2Process[]> {
    const { stdout } = await this.run(['jlist']);
    const procs = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
      name: string;
      pm_id: number;
      pid: number;
      pm2_env: { status: string; restart_time: number; env?: Record<string, string>; PORT?: string };
    }[];
    return procs.map((p) => ({
      name: p.name,
      pmId: p.pm_id,
      pid: p.pid,
      status: p.pm2_env.status,
      restarts: p.pm2_env.restart_time,
      port: Number(p.pm2_env.env?.PORT ?? p.pm2_env.PORT),
    }));
  }

  /** Stops the daemon and its apps; never throws, so teardown always gets to the end. */
  async kill(): Promise<void> {
    const apps = await this.list().catch(() => []);
    const killed = await this.run(['kill'], 30_000).then(
      () => true,
      () => false,
    );
    if (!killed) {
      // Fallback: the daemon and the apps this PM2_HOME started, by pid.
      let daemon = 0;
      try {
        daemon = Number(readFileSync(join(this.home, 'pm2.pid'), 'utf8').trim());
      } catch {
        // no daemon pid file: nothing was started
      }
      for (const pid of [daemon, ...apps.map((a) => a.pid)]) {
        try {
          if (pid > 0) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(this.home, { recursive: true, force: true });
  }
}
