import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { hashPassword } from '../audit/access/password-hash.js';
import { type CliEnv, CliOutput, type CliResult, CommandError } from './cli.output.js';

export const HASH_PASSWORD_USAGE = `Usage: concur-launch-connector hash-password [--stdin]

Prints the scrypt hash of an auditor's password, for audit.auditors[].passwordHash:

  audit:
    auditors:
      - username: jane.auditor
        passwordHash: scrypt$16384$8$1$...

Asks for the password twice on the terminal, without showing it. --stdin reads it from the first
line of standard input instead, for scripts:
  printf '%s\\n' "$PASSWORD" | concur-launch-connector hash-password --stdin
Passwords have 12 to 1024 characters. Each run gives another hash (a new salt); any of them works.`;

const MIN_LENGTH = 12;
const MAX_LENGTH = 1024;

/** Where the password comes from: the terminal (not echoed) or standard input. */
export interface PasswordInput {
  readonly isTerminal: boolean;
  /** Shows `prompt` and reads one line without echoing it. */
  ask(prompt: string): Promise<string>;
  /** Everything on standard input. */
  readAll(): Promise<string>;
}

/** `hash-password`: a hash to paste into the configuration; the password itself is never printed. */
export async function hashPasswordCommand(args: string[], _env: CliEnv, given?: PasswordInput): Promise<CliResult> {
  const { values } = parseArgs({ args, options: { stdin: { type: 'boolean' } }, strict: true, allowPositionals: false });
  const input = given ?? processInput();
  let password: string;
  if (values.stdin) {
    password = (await input.readAll()).split(/\r?\n/)[0];
  } else {
    if (!input.isTerminal) throw new CommandError('no terminal to ask on; pipe the password in with --stdin');
    password = await input.ask('Password: ');
    checkLength(password);
    if ((await input.ask('Again: ')) !== password) throw new CommandError('the two passwords differ; nothing was printed');
  }
  checkLength(password);
  return new CliOutput().print(await hashPassword(password)).done(0);
}

function checkLength(password: string): void {
  if (password.length < MIN_LENGTH || password.length > MAX_LENGTH) {
    throw new CommandError(`the password must have ${MIN_LENGTH} to ${MAX_LENGTH} characters`);
  }
}

type TerminalStream = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

function processInput(): PasswordInput {
  const stdin = process.stdin as TerminalStream;
  return {
    isTerminal: Boolean(stdin.isTTY && stdin.setRawMode),
    ask: (prompt) => readHidden(stdin, process.stderr, prompt),
    readAll: () => readAll(stdin),
  };
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

const ENTER = new Set(['\r', '\n']);
const INTERRUPT = '\u0003';
const END = '\u0004';
const ERASE = new Set(['\u007f', '\b']);

/** One line typed on a terminal in raw mode, so nothing is echoed; Ctrl-C gives up. */
export function readHidden(input: TerminalStream, output: Writable, prompt: string): Promise<string> {
  output.write(prompt);
  input.setRawMode?.(true);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = (error?: Error) => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (ENTER.has(char) || char === END) return finish();
        if (char === INTERRUPT) return finish(new CommandError('interrupted; nothing was printed'));
        if (ERASE.has(char)) line = Array.from(line).slice(0, -1).join('');
        else line += char;
      }
    };
    input.on('data', onData);
  });
}
