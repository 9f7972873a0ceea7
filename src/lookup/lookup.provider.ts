import type { LookupItem, LookupPage } from './lookup.types.js';

/** Port for a system of record that the popup searches; the abstract class is the injection token. */
export abstract class LookupProvider {
  /** Ranked, case-insensitive search on code and label; `limit` is capped at 100. */
  abstract search(query: string, offset: number, limit: number): Promise<LookupPage>;
  /** Exact, case-sensitive match on the code. */
  abstract find(code: string): Promise<LookupItem | undefined>;
  /** Number of entries in the source. */
  abstract size(): number;
}
