// `npm start` and `npm run cli` run this first: it compiles src/ into dist/ when an entry point is missing or older than a source file.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const outputs = ['main.js', 'cli.js'].map((name) => join(root, 'dist', name));

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const stale =
  outputs.some((output) => !existsSync(output)) ||
  newestMtime(join(root, 'src')) > Math.min(...outputs.map((output) => statSync(output).mtimeMs));
if (stale) {
  // On stderr, like the compiler's output: stdout belongs to the command (`npm run cli` prints a URL).
  console.error('Building the connector (first start or sources changed)...');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
    stdio: ['inherit', 2, 'inherit'],
  });
}
