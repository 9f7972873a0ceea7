/** One value of a tenant's system of record: `code` is what gets written into Concur. */
export interface LookupItem {
  code: string;
  label: string;
}

/** One page of ranked search results; `query` is the query as searched (trimmed, capped). */
export interface LookupPage {
  items: LookupItem[];
  total: number;
  offset: number;
  limit: number;
  query: string;
}
