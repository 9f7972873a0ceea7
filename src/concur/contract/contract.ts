/**
 * Concur's API contract as data: one JSON Schema (draft 2020-12) per request the connector sends
 * and per answer it reads, each written from the page of Concur's developer documentation it
 * names (`../shared/concur-docs/`). Compiled once with ajv. For the client, to check every body
 * before it leaves (assertContract), and for the sandbox, to check every request it is sent, with
 * the same schemas.
 *
 * The schemas live in ./schemas.ts (CONTRACT_SCHEMAS, each with its `source`); this file is the API:
 * checkContract, assertContract, contractSource. Errors are `<instance path or "/">: <message>`,
 * naming the property for a missing or undocumented one and the supported values for an enum; at
 * most 10, each at most 200 characters, whatever the value (a hostile answer cannot flood a log).
 */
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { CONTRACT_SCHEMAS } from './schemas.js';

export type ContractName =
  | 'v3.EntryGet'
  | 'v3.EntryPut'
  | 'v3.Error'
  | 'v4.ReportDetails'
  | 'v4.UpdateReport'
  | 'v4.ReportExpenseDetail'
  | 'v4.UpdateReportExpense'
  | 'v4.UpdateReportExpenseCompact'
  | 'v4.ReportAllocationResponse'
  | 'v4.UpdateReportAllocation'
  | 'v4.ErrorMessage'
  | 'oauth.TokenResponse'
  | 'oauth.Error'
  | 'oauth.RefreshTokenRequest'
  | 'oauth.AuthorizationCodeRequest';

export interface ContractCheck {
  ok: boolean;
  /** At most 10, each `<instance path>: <message>` (e.g. `/customData/0/value: must be string`). */
  errors: string[];
}

/** A body the connector was about to send did not match Concur's documented shape: a bug, never sent. */
export class ContractViolation extends Error {
  constructor(
    readonly contract: ContractName,
    readonly errors: string[],
  ) {
    super(`request body does not match ${contract}: ${errors.join('; ')}`);
    this.name = 'ContractViolation';
  }
}

const MAX_ERRORS = 10;
const MAX_ERROR_LENGTH = 200;

// ajv ships CommonJS (`module.exports = Ajv2020`, with `.default` set too): TypeScript (NodeNext) types the default
// import as the module, whose `default` is the class; at run time it may be either the class or a wrapper of it.
type Ajv2020Class = typeof Ajv2020Module.default;
const Ajv2020 =
  (Ajv2020Module as unknown as { default?: Ajv2020Class }).default ?? (Ajv2020Module as unknown as Ajv2020Class);

/** Types, required, enums and lengths only: `format` is not validated (Concur's examples do not follow their formats). */
const ajv = new Ajv2020({ allErrors: true, strict: true, validateFormats: false });

const validators = new Map<ContractName, ValidateFunction>(
  (Object.keys(CONTRACT_SCHEMAS) as ContractName[]).map((name) => [name, ajv.compile(CONTRACT_SCHEMAS[name].schema)]),
);

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function formatError(error: ErrorObject): string {
  const path = error.instancePath === '' ? '/' : clip(error.instancePath, 120);
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? error.keyword;
  if (error.keyword === 'additionalProperties') {
    message = `must NOT have additional property '${clip(String(params.additionalProperty), 60)}'`;
  } else if (error.keyword === 'required') {
    message = `must have required property '${clip(String(params.missingProperty), 60)}'`;
  } else if (error.keyword === 'enum') {
    message = `${message}: ${(params.allowedValues as unknown[]).join(', ')}`;
  } else if (error.keyword === 'const') {
    message = `${message} '${String(params.allowedValue)}'`;
  }
  return clip(`${path}: ${message}`, MAX_ERROR_LENGTH);
}

/** Checks `value` against the named contract: at most 10 errors, each at most 200 characters. */
export function checkContract(name: ContractName, value: unknown): ContractCheck {
  const validate = validators.get(name);
  if (!validate) throw new Error(`unknown contract ${String(name)}`);
  if (validate(value)) return { ok: true, errors: [] };
  const errors = (validate.errors ?? []).slice(0, MAX_ERRORS).map(formatError);
  return { ok: false, errors };
}

/** Throws ContractViolation when `value` does not match the named contract. */
export function assertContract(name: ContractName, value: unknown): void {
  const check = checkContract(name, value);
  if (!check.ok) throw new ContractViolation(name, check.errors);
}

/** The doc page and section the contract is written from, e.g. `v4.reports.markdown#update-report-schema`. */
export function contractSource(name: ContractName): string {
  const entry = CONTRACT_SCHEMAS[name];
  if (!entry) throw new Error(`unknown contract ${String(name)}`);
  return entry.source;
}
