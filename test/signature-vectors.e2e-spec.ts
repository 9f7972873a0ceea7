import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type Harness } from './harness.js';

interface Vector {
  name: string;
  version: 1 | 4;
  algorithm: 'sha1' | 'sha256';
  username: string;
  password: string;
  params: Record<string, string>;
  signature: string;
}

const vectors: Vector[] = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'signature-vectors.json'), 'utf8')).vectors;

/** One tenant per vector, shaped so its launch is acceptable end to end (field rules, version, algorithm). */
function tenantFor(vector: Vector, i: number) {
  const p = vector.params;
  const field = p.custom_field_launched_from ?? 'custom9';
  return {
    id: `vector-${i}`,
    name: vector.name,
    companyDomains: [p.xcompanydomain ?? p.company_domain],
    connector: { username: vector.username, password: vector.password },
    launch: { versions: [vector.version], v4Algorithm: vector.version === 4 ? vector.algorithm : 'sha256' },
    oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: 'c', clientSecret: 's', refreshToken: 'r' },
    fields: { v1: { field: 'Custom1' }, v4: { header: [field], entry: [field], allocation: [field] } },
    lookup: { type: 'file', file: 'lookup/projects.csv' },
  };
}

/** The query exactly as Concur sends it: every value percent-encoded, in the vector's order. */
function queryOf(vector: Vector): string {
  return Object.entries({ ...vector.params, signature: vector.signature })
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
}

// Vectors 1 and 3 share a company domain with different credentials, so they need two deployments.
const groups = [vectors.filter((_, i) => i !== 2), vectors.filter((_, i) => i === 2)];

describe.each(groups.map((group, g) => [g, group] as const))('published signature vectors through the whole app (group %i)', (_g, group) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApp({ tenants: group.map((v) => tenantFor(v, vectors.indexOf(v))) });
  });
  afterAll(() => h.close());

  it.each(group.map((v) => [v.name, v] as const))('%s: accepted once, then refused as a replay', async (_name, vector) => {
    const path = vector.version === 1 ? '/concur/form/v1.0/get' : '/launchexternalurl/v4/form';
    const url = `${path}?${queryOf(vector)}`;
    const res = await h.http.get(url).expect(303);
    expect(res.headers.location).toMatch(/^\/launch\/s\//);
    await h.http.get(url).expect(401);
  });

  it.each(group.map((v) => [v.name, v] as const))('%s: one changed signed value is refused', async (_name, vector) => {
    const params = { ...vector.params, nonce: vector.params.nonce.replace(/.$/, (c) => (c === '0' ? '1' : '0')) };
    const path = vector.version === 1 ? '/concur/form/v1.0/get' : '/launchexternalurl/v4/form';
    await h.http.get(`${path}?${queryOf({ ...vector, params })}`).expect(401);
  });
});
