import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Runs a container of a rendered pod spec as a local process, the way the kubelet would: its
 * ConfigMap and Secret volumes written out as files under a scratch root, emptyDirs and claims
 * as empty folders, its environment with every mounted path moved under that root, and its
 * command started from the repository (the image's /app). What the chart renders is what runs.
 */

/** The parts of a rendered Kubernetes object these tests read. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: any;
  /** ServiceAccount only. */
  automountServiceAccountToken?: boolean;
}

interface EnvVar {
  name: string;
  value?: string;
}

interface Container {
  name: string;
  command: string[];
  env?: EnvVar[];
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function byName(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`the render has no ${kind} ${name}`);
  return found;
}

/** A pod's container materialised on this machine: its files under `root`, its environment mapped. */
export class LocalPod {
  readonly root = mkdtempSync(join(tmpdir(), 'clc-pod-'));
  readonly env: Record<string, string> = {};
  private readonly mounts: string[] = [];

  constructor(
    objects: K8sObject[],
    podSpec: any,
    readonly container: Container,
  ) {
    const volumes = new Map<string, any>(podSpec.volumes.map((v: any) => [v.name, v]));
    for (const mount of container.volumeMounts ?? []) {
      const volume = volumes.get(mount.name);
      if (!volume) throw new Error(`volumeMount ${mount.name} has no volume`);
      const dir = this.path(mount.mountPath);
      mkdirSync(dir, { recursive: true });
      this.mounts.push(mount.mountPath);
      if (volume.configMap) {
        for (const [key, value] of Object.entries(byName(objects, 'ConfigMap', volume.configMap.name).data ?? {})) {
          writeFileSync(join(dir, key), value);
        }
      } else if (volume.secret) {
        for (const [key, value] of Object.entries(byName(objects, 'Secret', volume.secret.secretName).data ?? {})) {
          writeFileSync(join(dir, key), Buffer.from(value, 'base64'), { mode: 0o440 });
        }
      } else if (!volume.emptyDir && !volume.persistentVolumeClaim) {
        throw new Error(`volume ${mount.name}: only configMap, secret, emptyDir and persistentVolumeClaim are materialised`);
      }
    }
    for (const { name, value } of container.env ?? []) {
      if (value === undefined) throw new Error(`env ${name} has no literal value`);
      this.env[name] = this.mapPath(value);
    }
  }

  /** The local path of a path inside the container. */
  path(containerPath: string): string {
    return join(this.root, containerPath);
  }

  /** Moves a value that names a file on a mounted volume under the scratch root. */
  private mapPath(value: string): string {
    const mount = this.mounts.find((m) => value === m || value.startsWith(`${m}/`));
    return mount ? this.path(value) : value;
  }

  /** Starts the container's command (`node ...`) with its environment plus `extraEnv`. */
  start(extraEnv: Record<string, string> = {}): RunningProcess {
    const [program, ...args] = this.container.command;
    if (program !== 'node') throw new Error(`container ${this.container.name} runs ${program}, not node`);
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...this.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new RunningProcess(child);
  }

  /** Removes the scratch root. */
  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A started container process: its output so far and its exit. */
export class RunningProcess {
  output = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((done) => child.once('exit', (code) => done(code)));
  }

  /** Waits for the exit code, failing (and killing the process) after `ms`. */
  async exitCode(ms: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        fail(new Error(`no exit within ${ms} ms; output:\n${this.output}`));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process for good (test clean-up). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Polls `url` until it answers `status`, failing with the last answer and the output after `ms`. */
export async function waitForStatus(url: string, status: number, proc: RunningProcess, ms = 20_000, init?: RequestInit): Promise<void> {
  const deadline = Date.now() + ms;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`the process exited (${proc.child.exitCode}) before ${url} answered ${status}:\n${proc.output}`);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
      if (res.status === status) return;
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer ${status} within ${ms} ms (last: ${last}); output:\n${proc.output}`);
}
