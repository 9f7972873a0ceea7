import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { verifyPassword } from '../audit/access/password-hash.js';
import { CommandError } from './cli.output.js';
import { hashPasswordCommand, type PasswordInput, readHidden } from './hash-password.js';
import { runCli } from './run.js';

function input(opts: { terminal?: boolean; answers?: string[]; stdin?: string }): PasswordInput & { prompts: string[] } {
  const answers = [...(opts.answers ?? [])];
  const prompts: string[] = [];
  return {
    isTerminal: opts.terminal ?? false,
    prompts,
    async ask(prompt) {
      prompts.push(prompt);
      return answers.shift() ?? '';
    },
    async readAll() {
      return opts.stdin ?? '';
    },
  };
}

const HASH = /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/;

describe('hash-password', () => {
  it('--stdin: hashes the first line of standard input and prints only the hash', async () => {
    const result = await hashPasswordCommand(['--stdin'], {}, input({ stdin: 'a-long-password-1\nignored\n' }));
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trim()).toMatch(HASH);
    await expect(verifyPassword('a-long-password-1', result.stdout.trim())).resolves.toBe(true);
    expect(result.stdout).not.toContain('a-long-password-1');
  });

  it('--stdin takes a password without a final newline, and keeps its spaces', async () => {
    const result = await hashPasswordCommand(['--stdin'], {}, input({ stdin: ' spaced password ' }));
    await expect(verifyPassword(' spaced password ', result.stdout.trim())).resolves.toBe(true);
  });

  it('on a terminal: asks twice and hashes when both agree', async () => {
    const terminal = input({ terminal: true, answers: ['typed-password-1', 'typed-password-1'] });
    const result = await hashPasswordCommand([], {}, terminal);
    expect(terminal.prompts).toEqual(['Password: ', 'Again: ']);
    await expect(verifyPassword('typed-password-1', result.stdout.trim())).resolves.toBe(true);
  });

  it('refuses two different answers, a short password, and no terminal without --stdin', async () => {
    await expect(hashPasswordCommand([], {}, input({ terminal: true, answers: ['typed-password-1', 'typed-password-2'] }))).rejects.toThrow(
      'the two passwords differ; nothing was printed',
    );
    await expect(hashPasswordCommand(['--stdin'], {}, input({ stdin: 'short\n' }))).rejects.toThrow('the password must have 12 to 1024 characters');
    await expect(hashPasswordCommand([], {}, input({ terminal: false }))).rejects.toThrow(CommandError);
    await expect(hashPasswordCommand([], {}, input({ terminal: false }))).rejects.toThrow('no terminal to ask on; pipe the password in with --stdin');
  });

  it('is listed in the CLI usage and has its own help', async () => {
    expect((await runCli(['help'], {})).stdout).toContain('hash-password');
    expect((await runCli(['hash-password', '--help'], {})).stdout).toContain('Usage: concur-launch-connector hash-password [--stdin]');
    const stray = await runCli(['hash-password', 'secret-as-argument'], {});
    expect(stray.exitCode).toBe(2);
  });
});

describe('readHidden', () => {
  function terminal() {
    const stream = new PassThrough() as PassThrough & { isTTY: boolean; raw: boolean[]; setRawMode(raw: boolean): void };
    stream.isTTY = true;
    stream.raw = [];
    stream.setRawMode = (raw: boolean) => void stream.raw.push(raw);
    return stream;
  }

  it('reads a line in raw mode without echoing it, with backspace, then leaves raw mode', async () => {
    const stdin = terminal();
    const out = new PassThrough();
    const written: string[] = [];
    out.on('data', (chunk: Buffer) => written.push(chunk.toString()));
    const line = readHidden(stdin, out, 'Password: ');
    stdin.write('secrex\u007ft pw');
    stdin.write('\r');
    await expect(line).resolves.toBe('secret pw');
    expect(stdin.raw).toEqual([true, false]);
    expect(written.join('')).toBe('Password: \n');
  });

  it('gives up on Ctrl-C', async () => {
    const stdin = terminal();
    const line = readHidden(stdin, new PassThrough(), 'Password: ');
    stdin.write('abc\u0003');
    await expect(line).rejects.toThrow('interrupted; nothing was printed');
    expect(stdin.raw).toEqual([true, false]);
  });
});
