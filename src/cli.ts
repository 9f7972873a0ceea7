#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from './cli/run.js';

// Everything is in src/cli/; this file only connects it to the process.
const { exitCode, stdout, stderr } = await runCli(process.argv.slice(2), process.env);
if (stdout) process.stdout.write(stdout);
if (stderr) process.stderr.write(stderr);
process.exitCode = exitCode;
