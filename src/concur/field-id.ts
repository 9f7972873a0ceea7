/**
 * Concur's custom and org-unit field ids as one canonical spelling. Concur's pages write them
 * `custom9` and `orgUnit1` (v4) or `Custom9` and `OrgUnit1` (v3), and their own examples send
 * `custom09`: case and leading zeros do not make another field.
 */
const FIELD_ID = /^(custom|orgunit)0*(\d{1,2})$/i;
const LIMITS = { custom: 40, orgunit: 6 } as const;

/** `custom9`, `orgUnit1` (v4 spelling), or undefined when the text is no custom/org-unit field id. */
export function canonicalFieldId(raw: string): string | undefined {
  const match = FIELD_ID.exec(raw);
  if (!match) return undefined;
  const kind = match[1].toLowerCase() as keyof typeof LIMITS;
  const number = Number(match[2]);
  if (number < 1 || number > LIMITS[kind]) return undefined;
  return kind === 'custom' ? `custom${number}` : `orgUnit${number}`;
}

/** True when both name the same field (`Custom09` and `custom9`). */
export function sameFieldId(a: string, b: string): boolean {
  const left = canonicalFieldId(a);
  return left !== undefined && left === canonicalFieldId(b);
}

/** The v3 (Expense Entries) spelling of a field id: `Custom9`, `OrgUnit1`. */
export function v3FieldName(raw: string): string | undefined {
  const id = canonicalFieldId(raw);
  return id && id[0].toUpperCase() + id.slice(1);
}
