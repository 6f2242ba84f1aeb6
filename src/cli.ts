#!/usr/bin/env node
/**
 * The `notify-gateway` command (package.json "bin"): starts the gateway exactly as
 * `npm start` does in a checkout (main.ts), configured by the environment. `--help`
 * prints what it does and the settings it reads.
 */
import { CONFIG_KEYS } from './config/config.js';

const HELP = `Usage: notify-gateway [--help]

Starts the notification gateway, configured by environment variables. With none set
it listens on 0.0.0.0:3000 with an embedded SQLite store (./data/notify.db), creates
development credentials in ./data/dev-credentials.json and prints an API key, a demo
user token and a curl line that works as pasted. SIGTERM or SIGINT drains and exits.

Common settings:
  PORT, HOST        listen address (3000, 0.0.0.0)
  DATABASE_URL      sqlite:<file> (sqlite:./data/notify.db) or mysql://user:pass@host:3306/db
  REDIS_URL         redis://host:6379, to run several instances together
  JWT_SECRET        HS256 key of user tokens, at least 32 characters (or JWT_PUBLIC_KEY)
  NOTIFY_API_KEYS   "key" or "key:tenant", comma-separated, keys at least 16 characters
  NODE_ENV          production: generates nothing, refuses to start without keys
  LOG_LEVEL         fatal, error, warn, info (default), debug, trace, silent

Every setting (README "Configuration" says what each one does):
${wrap(CONFIG_KEYS.join(' '), 86, '  ')}
`;

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(HELP);
} else if (args.length > 0) {
  process.stderr.write(`notify-gateway: unknown argument ${args[0]} (settings are environment variables; see --help)\n`);
  process.exitCode = 2;
} else {
  await import('./main.js');
}
