#!/usr/bin/env node
// npm run bench: every benchmark section in one process on one machine, so the ratios between
// the connector and its peers hold. Prints a table (group, metric, value, target, PASS/MISS/INFO)
// and writes bench/results/latest.json and bench/results/latest.md. See bench/README.md.
//
//   npm run bench                          everything, full length
//   npm run bench -- --short               the CI mode (the whole run in about 3 minutes)
//   npm run bench -- --only launch,footprint
//
// Exit code 0 when the sections ran, MISSes included (a MISS is reported, not a failure); 1 when a
// section threw (its error is in the table and the JSON; the other sections still run); 2 on a
// bad option.
//
// The section contract: bench/sections/<name>.mjs, imported dynamically (a missing file is
// reported as "not available"):
//
//   export const title = 'Launch throughput';            // the table's group heading
//   export async function run({ short, log }) {           // short: the CI mode (whole bench under ~3 min); log(line) prints progress
//     return {
//       figures: { ratioVsExpressPeer: 1.23, ... },       // flat numbers/strings, go to latest.json as sections.<name>.<key> and flat "<name>.<key>"
//       rows: [{ metric: 'v1 launches/s: connector', value: '1,234', target: '>= 1.0x peer' | null, status: 'PASS' | 'MISS' | 'INFO', note: 'optional' }],
//     };
//   }
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ROOT, parseArgs } from './lib/dist.mjs';
import { machineBusy } from './lib/load.mjs';

const SECTIONS = ['launch', 'latency', 'tokens', 'lookup', 'audit', 'footprint', 'hostile'];
const RESULTS = join(ROOT, 'bench', 'results');

let args;
try {
  args = parseArgs(process.argv.slice(2), { short: 'flag', only: 'string', help: 'flag' });
} catch (error) {
  console.error(`bench: ${error.message}`);
  process.exit(2);
}
if (args.help) {
  const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1);
  console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const only = args.only ? args.only.split(',').map((s) => s.trim()).filter(Boolean) : SECTIONS;
const unknown = only.filter((name) => !SECTIONS.includes(name));
if (unknown.length) {
  console.error(`bench: unknown section(s) ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
  process.exit(2);
}
const short = Boolean(args.short);
const wanted = SECTIONS.filter((name) => only.includes(name));

const began = performance.now();
const since = () => `${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s`;
const progress = (line) => console.error(`[${since()}] ${line}`);

const busy = await machineBusy(1000);
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
  totalMemory: totalmem(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  busyBeforeStart: busy === null ? null : Math.round(busy * 100) / 100,
};
progress(`npm run bench${short ? ' --short' : ''}: ${wanted.join(', ')} on ${machine.cpus} x ${machine.cpuModel}, ${(machine.totalMemory / 2 ** 30).toFixed(0)} GB, Node ${machine.node}`);
if (busy !== null && busy > 0.2) {
  progress(`warning: the machine was ${Math.round(busy * 100)}% busy before the run (other processes): the figures will be lower and noisier`);
}

const report = { startedAt: new Date().toISOString(), short, only: args.only ? wanted : null, machine, sections: {}, flat: {}, misses: [], errors: [] };
const groups = [];

for (const name of wanted) {
  const file = join(ROOT, 'bench', 'sections', `${name}.mjs`);
  if (!existsSync(file)) {
    progress(`${name}: not available (no bench/sections/${name}.mjs)`);
    report.sections[name] = { available: false };
    groups.push({ name, title: name, rows: [{ metric: '(section)', value: 'not available', target: null, status: 'INFO' }] });
    continue;
  }
  const started = performance.now();
  let title = name;
  try {
    const section = await import(pathToFileURL(file).href);
    title = section.title ?? name;
    if (typeof section.run !== 'function') throw new Error(`bench/sections/${name}.mjs exports no run()`);
    progress(`${name}: ${title}`);
    const result = await section.run({ short, log: (line) => progress(`  ${name}: ${line}`) });
    const figures = result?.figures ?? {};
    const rows = result?.rows ?? [];
    const seconds = round1((performance.now() - started) / 1000);
    report.sections[name] = { title, seconds, figures, rows };
    for (const [key, value] of Object.entries(figures)) report.flat[`${name}.${key}`] = value;
    for (const row of rows) {
      if (row.status === 'MISS') report.misses.push({ section: name, metric: row.metric, value: row.value, target: row.target ?? null, note: row.note ?? null });
    }
    groups.push({ name, title, rows });
    progress(`${name}: done in ${seconds} s`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    progress(`${name}: ERROR ${error instanceof Error ? error.stack : message}`);
    const seconds = round1((performance.now() - started) / 1000);
    report.sections[name] = { title, seconds, error: message };
    report.errors.push({ section: name, error: message });
    groups.push({ name, title, rows: [{ metric: '(section)', value: 'ERROR', target: null, status: 'ERROR', note: message }] });
  }
}
report.seconds = round1((performance.now() - began) / 1000);

mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(RESULTS, 'latest.md'), markdown(report, groups));
console.log(text(groups));
console.log(
  `\n${report.misses.length} MISS, ${report.errors.length} error(s) in ${report.seconds} s. ` +
    `Results: bench/results/latest.json, bench/results/latest.md`,
);
process.exit(report.errors.length ? 1 : 0);

// ---------------------------------------------------------------------------------------------

function round1(x) {
  return Math.round(x * 10) / 10;
}

/** Notes become numbered footnotes, so the table stays narrow. */
function withNotes(groups) {
  const notes = [];
  const lines = groups.map((group) => ({
    ...group,
    rows: group.rows.map((row) => {
      if (!row.note) return { ...row, mark: '' };
      notes.push(row.note);
      return { ...row, mark: ` [${notes.length}]` };
    }),
  }));
  return { lines, notes };
}

function text(groups) {
  const { lines, notes } = withNotes(groups);
  const rows = [['group', 'metric', 'value', 'target', 'status']];
  for (const group of lines) {
    group.rows.forEach((row, i) => rows.push([i === 0 ? group.title : '', `${row.metric}${row.mark}`, String(row.value ?? ''), row.target ?? '', row.status ?? '']));
  }
  const width = rows[0].map((_, c) => Math.min(c === 0 ? 40 : 60, Math.max(...rows.map((r) => r[c].length))));
  const line = (r) => r.map((cell, c) => (c === 2 ? cell.padStart(width[c]) : cell.padEnd(width[c]))).join('  ').trimEnd();
  const out = ['', line(rows[0]), width.map((w) => '-'.repeat(w)).join('  ')];
  let first = true;
  for (const r of rows.slice(1)) {
    if (r[0] && !first) out.push('');
    first = false;
    out.push(line(r));
  }
  if (notes.length) out.push('', ...notes.map((note, i) => `[${i + 1}] ${note}`));
  return out.join('\n');
}

function markdown(report, groups) {
  const { lines, notes } = withNotes(groups);
  const cell = (s) => String(s ?? '').replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');
  const m = report.machine;
  const out = [
    `# npm run bench${report.short ? ' --short' : ''}`,
    '',
    `${report.startedAt}: ${m.cpus} x ${m.cpuModel}, ${(m.totalMemory / 2 ** 30).toFixed(0)} GB, Node ${m.node}` +
      (m.busyBeforeStart !== null ? `; machine ${Math.round(m.busyBeforeStart * 100)}% busy before the run` : '') +
      `; ${report.seconds} s.`,
    '',
    '| group | metric | value | target | status |',
    '|---|---|---:|---|---|',
  ];
  for (const group of lines) {
    group.rows.forEach((row, i) => {
      const status = row.status === 'MISS' || row.status === 'ERROR' ? `**${row.status}**` : row.status;
      out.push(`| ${i === 0 ? cell(group.title) : ''} | ${cell(row.metric)}${row.mark ? ` ${row.mark.trim().replace(/\[(\d+)\]/, '<sup>$1</sup>')}` : ''} | ${cell(row.value)} | ${cell(row.target)} | ${status} |`);
    });
  }
  if (notes.length) out.push('', ...notes.map((note, i) => `${i + 1}. ${String(note).replace(/\s*\n\s*/g, ' ')}`));
  out.push('');
  return out.join('\n');
}
