// Types of connector.mjs, for the TypeScript tests that start the built app (test/reliability/).
import type { ChildProcess } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';

export function freePort(): Promise<number>;
export function get(
  port: number,
  path: string,
  options?: { headers?: Record<string, string>; onData?: (chunk: Buffer) => void },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>;

export interface StartedConnector {
  port: number;
  origin: string;
  pid: number;
  child: ChildProcess;
  dataDir: string;
  startSeconds: number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startConnector(options?: { config?: string; env?: Record<string, string>; readyTimeoutMs?: number }): Promise<StartedConnector>;
