/**
 * The run's summary table as Markdown (`latest.md` beside the JSON results), ready to
 * paste into README "Performance": the command line, the machine, the table with the
 * setups' labels as column heads, and which setups were skipped or failed.
 */
import { writeFileSync } from 'node:fs';
import { SETUPS } from './gateways.mjs';

/** The summary with each setup's label ("MariaDB + Redis, 4 instances") heading its column, realigned. */
function withLabels(table) {
  const [head, , ...body] = table.split('\n').map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
  const rows = [head.map((cell) => SETUPS[cell]?.label ?? cell), ...body];
  const widths = rows[0].map((_, c) => Math.max(3, ...rows.map((row) => row[c].length)));
  const line = (row) => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export function writeMarkdown(file, { args, machine, startedAt, results, summary }) {
  const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  const gb = Math.round(machine.memoryMb / 1024);
  const load = machine.loadavgAtStart.map((l) => l.toFixed(2)).join(' ');
  const lines = [
    `\`${command}\` (${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC; ${machine.cpus} cores, ${gb} GB, Node ${machine.node.replace(/^v/, '')}; load average at start ${load}):`,
    '',
    // One table, or more separated by a blank line (the topic phases' table): each relabelled.
    summary ? summary.split('\n\n').map(withLabels).join('\n\n') : 'No setup ran.',
  ];
  const skipped = results.filter((r) => r.skipped).map((r) => `${r.label} (${r.skipped})`);
  const failed = results.filter((r) => r.error).map((r) => `${r.label}: ${r.error.split('\n')[0]}`);
  if (skipped.length > 0) lines.push('', `Skipped: ${skipped.join('; ')}.`);
  if (failed.length > 0) lines.push('', `Failed: ${failed.join('; ')}.`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}
