import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, linkSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The data folder holds the audit log, sealed refresh tokens and generated keys: its owner's only. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` and any missing parents as 0700. mkdir's mode passes through the umask, so each
 * folder this call created is set to exactly 0700 afterwards. A folder that already exists keeps
 * its mode: the operator may have chosen it (see `folderExposure`). True when `dir` was created.
 */
export function ensurePrivateDir(dir: string): boolean {
  const target = resolve(dir);
  const first = mkdirSync(target, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return false;
  for (let created = target; ; created = dirname(created)) {
    chmodSync(created, PRIVATE_DIR_MODE);
    if (created === resolve(first) || created === dirname(created)) break;
  }
  return true;
}

/**
 * Creates an empty file readable and writable by its owner only, whatever the umask; false when
 * a file of that name already exists (left as it is).
 */
export function createPrivateFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Writes `bytes` random bytes, base64, to a new 0600 file at `path` (its folder made private as
 * ensurePrivateDir does) unless a file is there; true when this call created it. The key goes to
 * a file of its own first and is then linked into place, which fails when the name exists:
 * processes starting together (replicas on one volume, a restart racing a CLI) all end up
 * reading the same complete key, never a half-written or second one.
 */
export function createKeyFile(path: string, bytes: number): boolean {
  ensurePrivateDir(dirname(resolve(path)));
  const staging = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(staging, randomBytes(bytes).toString('base64'), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  try {
    // The mode above passes through the umask: set it exactly.
    chmodSync(staging, PRIVATE_FILE_MODE);
    linkSync(staging, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    rmSync(staging, { force: true });
  }
}

const mode = (path: string): number => statSync(path).mode;
const octal = (bits: number): string => (bits & 0o7777).toString(8).padStart(4, '0');

/**
 * A warning when other users of the machine can create, rename or replace files in an existing
 * folder (world-writable without the sticky bit), or undefined. Group permissions are left to
 * the operator: a backup group, or Kubernetes' fsGroup, which gives the pod's own group the volume.
 * A world-readable folder only shows file names: the files themselves are 0600.
 */
export function folderExposure(dir: string): string | undefined {
  const bits = mode(dir);
  if ((bits & 0o002) === 0 || (bits & 0o1000) !== 0) return undefined;
  return (
    `data folder ${dir} (mode ${octal(bits)}) lets every user of the machine replace the files in it (the SQLite database, generated keys). ` +
    `The connector leaves a folder it did not create as it is: \`chmod 700 ${dir}\``
  );
}

/** A warning when other users can read or write an existing file (created by an older version, or by hand), or undefined. */
export function fileExposure(path: string, holds: string): string | undefined {
  if (!statExists(path)) return undefined;
  const bits = mode(path);
  if ((bits & 0o006) === 0) return undefined;
  return `${path} (mode ${octal(bits)}) can be read or changed by every user of the machine, and it holds ${holds}. Files the connector creates are 0600; this one is older: \`chmod 600 ${path}\``;
}

function statExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
