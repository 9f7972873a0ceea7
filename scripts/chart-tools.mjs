// Render, lint and validate the Helm chart without a cluster: used by scripts/chart-check.mjs and the Jest chart specs.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { helmIfReady } from './helm.mjs';

export const CHART_DIR = fileURLToPath(new URL('../helm/concur-launch-connector', import.meta.url));

// API groups whose models live outside `kubernetes-models`.
const MODEL_PACKAGES = { 'monitoring.coreos.com': '@kubernetes-models/prometheus-operator' };
const API_VERSION_PATTERN = /^(?:[a-z0-9.-]+\/)?v\d+(?:(?:alpha|beta)\d*)?$/;
const PRE_GA_PATTERN = /(?:alpha|beta)\d*$/;
// Put in place of a field's value to learn whether the schema knows the field: it is no JSON type, so every typed schema rejects it.
const PROBE = Symbol('unknown-field probe');
const HELM_MAX_OUTPUT = 64 * 1024 * 1024;

/** The chart's CI scenarios: `ci/*-values.yaml` paths relative to the chart, sorted. */
export function scenarioFiles(chartDir = CHART_DIR) {
  const ciDir = join(chartDir, 'ci');
  if (!existsSync(ciDir)) return [];
  return readdirSync(ciDir)
    .filter((name) => name.endsWith('-values.yaml'))
    .sort()
    .map((name) => `ci/${name}`);
}

/**
 * Runs helm synchronously (the chart specs render while Jest collects tests) and returns its exit code, stdout and stderr.
 * helm must be obtained first: `await ensureHelm()` (chart-check and the Jest globalSetup do it).
 */
function helm(args) {
  const binary = helmIfReady();
  if (!binary) throw new Error('helm is not obtained yet: run `npm run helm -- version` once (it downloads and caches it), or set HELM_BIN');
  const { status, stdout, stderr, error } = spawnSync(binary, args, { encoding: 'utf8', maxBuffer: HELM_MAX_OUTPUT });
  if (error) throw new Error(`could not run ${binary}: ${error.message}`);
  return { code: status ?? 1, stdout, stderr };
}

/** Helm flags for values files (relative paths are relative to the chart), `--set-json` and `--set-string` values. */
function valuesArgs(chartDir, { valuesFiles = [], set = {}, setString = {} }) {
  const args = [];
  for (const file of valuesFiles) args.push('-f', isAbsolute(file) ? file : join(chartDir, file));
  // --set-json keeps the JSON type of each value (3 stays a number, '3' a string, null removes the key).
  for (const [key, value] of Object.entries(set)) args.push('--set-json', `${key}=${JSON.stringify(value)}`);
  for (const [key, value] of Object.entries(setString)) args.push('--set-string', `${key}=${String(value).replace(/\\/g, '\\\\').replace(/,/g, '\\,')}`);
  return args;
}

/** `helm lint --strict` of the chart with the given values: `{ ok, output }` (output is helm's report). */
export function lintChart({ chartDir = CHART_DIR, ...values } = {}) {
  const { code, stdout, stderr } = helm(['lint', '--strict', chartDir, ...valuesArgs(chartDir, values)]);
  return { ok: code === 0, output: `${stdout}${stderr}`.trim() };
}

/**
 * `helm template` of the chart, parsed: `{ objects, sources }` (sources[i] is the template that rendered objects[i]).
 * Keys in `set`/`setString` use helm's path syntax (escape dots in a key as `\\.`). When helm fails, throws an Error
 * whose message includes helm's stderr, also kept as its `stderr` property.
 */
export function renderChart({ chartDir = CHART_DIR, valuesFiles = [], set = {}, setString = {}, namespace = 'connector', releaseName = 'ci-release', showOnly } = {}) {
  const args = ['template', releaseName, chartDir, '--namespace', namespace, ...valuesArgs(chartDir, { valuesFiles, set, setString })];
  for (const template of [showOnly ?? []].flat()) args.push('--show-only', template);
  const { code, stdout, stderr } = helm(args);
  if (code !== 0) throw Object.assign(new Error(`helm template failed (exit ${code}):\n${stderr.trim()}`), { stderr });
  return parseManifests(stdout);
}

/**
 * The text of NOTES.txt as `helm install` would print it with these values (`helm template` leaves NOTES out). A temporary
 * copy of the chart turns NOTES.txt into a named template and renders it inside a ConfigMap; values files stay relative
 * to the real chart. Throws like renderChart when the chart refuses the values.
 */
export function renderNotes({ chartDir = CHART_DIR, valuesFiles = [], ...options } = {}) {
  const copy = mkdtempSync(join(tmpdir(), 'clc-notes-'));
  try {
    cpSync(chartDir, copy, { recursive: true });
    const notes = readFileSync(join(copy, 'templates/NOTES.txt'), 'utf8');
    rmSync(join(copy, 'templates/NOTES.txt'));
    writeFileSync(join(copy, 'templates/_notes-preview.tpl'), `{{- define "notes-preview" -}}\n${notes}\n{{- end }}\n`);
    writeFileSync(
      join(copy, 'templates/notes-preview.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-preview\ndata:\n  NOTES.txt: |\n{{ include "notes-preview" . | indent 4 }}\n',
    );
    const files = valuesFiles.map((file) => (isAbsolute(file) ? file : join(chartDir, file)));
    const { objects } = renderChart({ ...options, chartDir: copy, valuesFiles: files, showOnly: 'templates/notes-preview.yaml' });
    return objects[0].data['NOTES.txt'];
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Splits helm's multi-document output into objects (YAML 1.1, as Kubernetes reads it: `0644` is octal, `yes` is true), skipping empty documents. */
function parseManifests(text) {
  const objects = [];
  const sources = [];
  for (const document of parseAllDocuments(text, { version: '1.1' })) {
    const source = /Source: (\S+)/.exec(`${document.commentBefore ?? ''}\n${document.contents?.commentBefore ?? ''}`)?.[1];
    if (document.errors.length > 0) throw new Error(`rendered YAML of ${source ?? 'a template'} does not parse: ${document.errors[0].message.trim()}`);
    const object = document.toJS();
    if (object === null || object === undefined) continue;
    objects.push(object);
    sources.push(source);
  }
  return { objects, sources };
}

/** `Kind/name` of a rendered object, for messages. */
export function describe(object) {
  return `${object?.kind ?? '(no kind)'}/${object?.metadata?.name ?? '(no name)'}`;
}

/** The kubernetes-models class for an apiVersion and kind, or undefined when no installed package has one. */
async function modelClass(apiVersion, kind) {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  const modulePath = `${MODEL_PACKAGES[group] ?? 'kubernetes-models'}/${apiVersion}`;
  let models;
  try {
    models = await import(modulePath);
  } catch (error) {
    // Node says ERR_PACKAGE_PATH_NOT_EXPORTED for a group/version the package lacks; Jest's resolver says MODULE_NOT_FOUND.
    if (['ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes(error.code)) return undefined;
    throw error;
  }
  const Model = models[kind];
  return typeof Model === 'function' && Model.apiVersion === apiVersion && Model.kind === kind ? Model : undefined;
}

/** Runs a model's schema validation; returns ajv's errors (empty when valid). */
function schemaErrors(model) {
  try {
    model.validate();
    return [];
  } catch (error) {
    if (!Array.isArray(error.errors)) throw error;
    return error.errors;
  }
}

/** JSON pointer (as ajv reports it) to a dotted path: `/spec/containers/0/name` -> `spec.containers[0].name`. */
function dottedPath(pointer) {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment), '');
}

/** Escapes one JSON-pointer segment. */
function pointerSegment(key) {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Paths of fields the schema does not know. The models' schemas allow unknown fields (no additionalProperties: false),
 * so each field is probed: its value is replaced by a value no typed schema accepts, and a field the schema
 * knows then yields an error at its path while an unknown one yields none. Free-form fields would be reported too.
 */
function unknownFields(model) {
  const unknown = [];
  const walk = (node, pointer) => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, `${pointer}/${index}`));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const key of Object.keys(node)) {
      const path = `${pointer}/${pointerSegment(key)}`;
      const value = node[key];
      node[key] = PROBE;
      const known = schemaErrors(model).some((error) => error.instancePath === path || error.instancePath.startsWith(`${path}/`));
      node[key] = value;
      if (known) walk(value, path);
      else unknown.push(dottedPath(path));
    }
  };
  walk(model, '');
  return unknown;
}

/** Validates one rendered object against its Kubernetes (or prometheus-operator) schema, unknown fields included; throws an Error naming the object and the problem. */
export async function validateObject(object) {
  const label = describe(object);
  const fail = (problem) => {
    throw new Error(`${label}: ${problem}`);
  };
  if (object === null || typeof object !== 'object' || Array.isArray(object)) fail('document is not a mapping');
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') fail('apiVersion and kind must both be set');
  if (!API_VERSION_PATTERN.test(apiVersion)) fail(`apiVersion "${apiVersion}" is not of the form [group/]version`);
  if (PRE_GA_PATTERN.test(apiVersion)) fail(`apiVersion ${apiVersion} is a pre-GA (alpha/beta) API; use the GA version (most beta APIs are removed from current Kubernetes)`);
  if (typeof object.metadata?.name !== 'string' || object.metadata.name === '') fail('metadata.name is missing');
  const Model = await modelClass(apiVersion, kind);
  if (!Model) fail(`no schema for apiVersion ${apiVersion}, kind ${kind} in kubernetes-models or @kubernetes-models/prometheus-operator (wrong apiVersion/kind, or a model package to add)`);
  const model = new Model(object);
  const messages = schemaErrors(model).map((error) => `${dottedPath(error.instancePath) || '(object)'} ${error.message}`);
  // A field with a schema error is a known one, so probing for unknown fields still works on an invalid object.
  const unknown = unknownFields(model);
  if (unknown.length > 0) messages.push(`unknown field${unknown.length > 1 ? 's' : ''} (not in the ${apiVersion} ${kind} schema): ${unknown.join(', ')}`);
  if (messages.length > 0) fail([...new Set(messages)].join('; '));
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Problems with one label key and value: Kubernetes wants `[prefix/]name` (name at most 63 characters, prefix a DNS subdomain) and a value of at most 63. */
function labelProblems(key, value) {
  const problems = [];
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash === -1 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (name.length > 63 || !LABEL_NAME.test(name)) problems.push(`label key "${key}": its name part must be 1-63 alphanumerics, '-', '_' or '.'`);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) problems.push(`label key "${key}": its prefix must be a DNS subdomain`);
  const text = String(value ?? '');
  if (text.length > 63 || (text !== '' && !LABEL_NAME.test(text))) problems.push(`label ${key}: value "${text}" must be at most 63 alphanumerics, '-', '_' or '.'`);
  return problems;
}

/**
 * Names and labels Kubernetes would refuse but the schemas do not check: metadata.name longer than 63 characters (Services,
 * and Jobs whose name becomes a label, must fit a DNS label; the chart keeps every name within it) and every labels/matchLabels entry.
 */
function nameAndLabelProblems(object) {
  const problems = [];
  const name = object?.metadata?.name;
  if (typeof name === 'string' && name.length > 63) problems.push(`metadata.name "${name}" is ${name.length} characters, more than 63`);
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'labels' || key === 'matchLabels') && value && typeof value === 'object' && !Array.isArray(value)) {
        for (const [labelKey, labelValue] of Object.entries(value)) problems.push(...labelProblems(labelKey, labelValue));
      } else walk(value);
    }
  };
  walk(object);
  return problems;
}

/** Every problem with a set of rendered objects: each object's validation error and names or labels Kubernetes refuses (naming the template from `sources`, when given), and any kind+name used twice. Empty when all is well. */
export async function findProblems(objects, sources = []) {
  const problems = [];
  for (const [index, object] of objects.entries()) {
    const from = sources[index] ? ` (from ${sources[index]})` : '';
    try {
      await validateObject(object);
    } catch (error) {
      problems.push(`${error.message}${from}`);
    }
    for (const problem of nameAndLabelProblems(object)) problems.push(`${describe(object)}: ${problem}${from}`);
  }
  const seen = new Set();
  for (const object of objects.filter((candidate) => candidate?.metadata?.name)) {
    const key = describe(object);
    if (seen.has(key)) problems.push(`${key}: rendered more than once (kind and name must be unique)`);
    seen.add(key);
  }
  return problems;
}
