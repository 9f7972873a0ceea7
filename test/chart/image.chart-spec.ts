import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './pod-runner.js';
import { render } from './render.js';

/**
 * The Dockerfile and .dockerignore, read as text: no Docker engine runs here, so the image cannot be built in CI.
 * These checks hold the files to what the chart expects of the image (non-root, production, the paths it runs).
 */

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

interface Instruction {
  command: string;
  args: string;
}

/** The Dockerfile's instructions by stage (continuation lines joined, comments dropped). */
function stages(text: string): Instruction[][] {
  const result: Instruction[][] = [];
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of logical) {
    const [, command, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    const instruction = { command: command.toUpperCase(), args };
    if (instruction.command === 'FROM') result.push([]);
    result.at(-1)?.push(instruction);
  }
  return result;
}

/** Go's filepath.Match with `**`, as .dockerignore uses it, to a regular expression (a pattern also covers what lies below a match). */
function patternRegExp(pattern: string): RegExp {
  const source = pattern
    .replace(/^\/+|\/+$/g, '')
    .split(/(\*\*\/?|\*|\?)/)
    .map((part) => (part.startsWith('**') ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}(/.*)?$`);
}

/** Whether the build context keeps a path: the last .dockerignore pattern that matches decides (`!` keeps). */
function inContext(path: string, ignore: string): boolean {
  let kept = true;
  for (const raw of ignore.split('\n').map((line) => line.trim())) {
    if (raw === '' || raw.startsWith('#')) continue;
    const negated = raw.startsWith('!');
    if (patternRegExp(negated ? raw.slice(1) : raw).test(path)) kept = negated;
  }
  return kept;
}

describe('the Dockerfile', () => {
  const [build, runtime] = [stages(dockerfile)[0], stages(dockerfile).at(-1)!];
  const runtimeOf = (command: string) => runtime.filter((i) => i.command === command).map((i) => i.args);

  it('has a build stage and a separate runtime stage', () => {
    expect(stages(dockerfile).length).toBeGreaterThanOrEqual(2);
    expect(build[0].args).toMatch(/ AS build$/);
    expect(runtime[0].args).not.toMatch(/ AS build$/);
  });

  it('compiles in the build stage and keeps only production dependencies', () => {
    const runs = build.filter((i) => i.command === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toContain('npm ci');
    expect(runs).toContain('npm run build');
    expect(runs).toMatch(/npm prune --omit=dev/);
  });

  it('runs in production as a numeric non-root user (so Kubernetes can check runAsNonRoot)', () => {
    expect(runtimeOf('ENV').join(' ')).toMatch(/NODE_ENV=production/);
    const [user] = runtimeOf('USER');
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    const { objects } = render({ valuesFiles: ['ci/embedded-values.yaml'] });
    const pod = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec;
    expect(pod.securityContext.runAsUser).toBe(Number(user.split(':')[0]));
  });

  it('copies what the connector reads at run time: package.json, production node_modules, dist, views, public, config, locales', () => {
    const copies = runtimeOf('COPY').map((args) => args.replace(/--from=build\s+/, 'build:'));
    expect(copies).toEqual(
      expect.arrayContaining([
        'build:/app/package.json ./package.json',
        'build:/app/node_modules ./node_modules',
        'build:/app/dist ./dist',
        'views ./views',
        'public ./public',
        'config ./config',
        'locales ./locales',
      ]),
    );
    for (const dir of ['views', 'public', 'config', 'locales']) expect(existsSync(join(REPO_ROOT, dir))).toBe(true);
  });

  it('starts dist/main.js, and the chart migrates with dist/cli.js: both compiled from sources that exist', () => {
    expect(runtimeOf('CMD')).toEqual(['["node", "dist/main.js"]']);
    expect(existsSync(join(REPO_ROOT, 'src/main.ts'))).toBe(true);
    const { objects } = render({ valuesFiles: ['ci/production-values.yaml'] });
    const job = objects.find((o) => o.kind === 'Job')!;
    expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(existsSync(join(REPO_ROOT, 'src/cli.ts'))).toBe(true);
  });
});

describe('the .dockerignore', () => {
  const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8');
  const tracked = execFileSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n');

  it('sends every file the Dockerfile copies from the context', () => {
    const needed = tracked.filter(
      (path) =>
        ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json'].includes(path) ||
        (/^(src|views|public|config|locales)\//.test(path) && !/\.(spec|fixture)\.ts$/.test(path)),
    );
    expect(needed.length).toBeGreaterThan(100);
    expect(needed.filter((path) => !inContext(path, ignore))).toEqual([]);
  });

  it('leaves out tests, the chart, docs, git metadata, local builds and dependencies', () => {
    const sent = tracked.filter((path) => inContext(path, ignore));
    expect(sent.filter((path) => /^(test|helm|docs|scripts|\.ci)\/|\.(spec|fixture)\.ts$/.test(path))).toEqual([]);
    for (const path of ['node_modules/yaml/package.json', 'dist/main.js', '.git/HEAD', '.env', 'data/connector.sqlite']) {
      expect([path, inContext(path, ignore)]).toEqual([path, false]);
    }
  });
});
