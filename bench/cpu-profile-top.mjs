/**
 * Summarises V8 CPU profiles (`--cpu-prof`, e.g. BENCH_GATEWAY_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=DIR" npm run bench -- …): self time by function and by area (our code
 * by folder, each dependency by package, node internals, GC, idle), largest first.
 *
 *   node bench/cpu-profile-top.mjs DIR_OR_FILE… [--top 25]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const files = positionals.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]));
if (files.length === 0) throw new Error('no .cpuprofile given');

const byFunction = new Map();
const byArea = new Map();
let total = 0;
const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us);

function areaOf(url, name) {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return '(program: native, not attributed)';
  if (!url) return `native: ${name}`;
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return `dep: ${pkg[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  const ours = url.match(/dist\/src\/([^/]+)\//);
  return ours ? `ours: src/${ours[1]}` : url;
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  profile.samples.forEach((id, i) => {
    const us = dt[i] ?? 0;
    const { callFrame } = nodes.get(id);
    const name = callFrame.functionName || '(anonymous)';
    total += us;
    add(byFunction, `${name} ${callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*dist\//, '')}:${callFrame.lineNumber + 1}`, us);
    add(byArea, areaOf(callFrame.url, name), us);
  });
}

const busy = total - (byArea.get('idle') ?? 0);
const pct = (us, of) => `${((100 * us) / of).toFixed(1)} %`.padStart(7);
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (shares below are of busy time)`);
console.log('\nby area:');
for (const [k, us] of [...byArea].filter(([k]) => k !== 'idle').sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${pct(us, busy)}  ${k}`);
console.log('\nby function (self time):');
for (const [k, us] of [...byFunction].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${pct(us, busy)}  ${k}`);
