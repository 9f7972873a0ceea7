import { AppConfig, ServerAddress, type TenantConfig } from '../config/index.js';
import { HostAllowList } from './host-allow-list.js';
import { parseItemUrl } from './item-url.js';

function setup(options: { sandbox: boolean; address?: string }) {
  const config = new AppConfig();
  config.concur.apiOrigins = ['https://us.api.concursolutions.com'];
  config.sandbox.enabled = options.sandbox;
  const address = new ServerAddress();
  if (options.address) address.set(options.address);
  const tenant = {
    id: 'acme',
    allowedOrigins: ['https://acme-proxy.example.com'],
    oauth: { baseUrl: 'https://us.api.concursolutions.com/', clientId: 'c', clientSecret: 's', refreshToken: 'r' },
  } as TenantConfig;
  return { list: new HostAllowList(config, address), tenant };
}

describe(HostAllowList.name, () => {
  it('lists Concur origins and tenant extras, and the sandbox only while it is on and listening', () => {
    const on = setup({ sandbox: true, address: 'http://127.0.0.1:4000/' });
    expect(on.list.originsFor(on.tenant)).toEqual([
      { origin: 'https://us.api.concursolutions.com', pathPrefix: '' },
      { origin: 'https://acme-proxy.example.com', pathPrefix: '' },
      { origin: 'http://127.0.0.1:4000', pathPrefix: '/sandbox/concur' },
      // The sandbox's second origin, where its tokens' geolocation points.
      { origin: 'http://localhost:4000', pathPrefix: '/sandbox/concur' },
    ]);
    const off = setup({ sandbox: false, address: 'http://127.0.0.1:4000' });
    expect(off.list.originsFor(off.tenant)).toHaveLength(2);
    const notListening = setup({ sandbox: true });
    expect(notListening.list.originsFor(notListening.tenant)).toHaveLength(2);
  });

  it('allows a URL on an allowed origin under its path prefix only', () => {
    const { list, tenant } = setup({ sandbox: true, address: 'http://127.0.0.1:4000' });
    expect(list.isAllowed(tenant, 'https://us.api.concursolutions.com/api/v3.0/expense/entries/E1')).toBe(true);
    expect(list.isAllowed(tenant, 'https://acme-proxy.example.com/x')).toBe(true);
    expect(list.isAllowed(tenant, 'http://127.0.0.1:4000/sandbox/concur/api/v3.0/expense/entries/E1')).toBe(true);
    expect(list.isAllowed(tenant, 'http://127.0.0.1:4000/admin')).toBe(false);
    expect(list.isAllowed(tenant, 'http://us.api.concursolutions.com/api/v3.0/expense/entries/E1')).toBe(false);
    expect(list.isAllowed(tenant, 'https://us.api.concursolutions.com.evil.test/x')).toBe(false);
    expect(list.isAllowed(tenant, 'https://a:b@us.api.concursolutions.com/x')).toBe(false);
    expect(list.isAllowed(tenant, 'not a url')).toBe(false);
  });

  it('refuses the sandbox address while the sandbox is off', () => {
    const { list, tenant } = setup({ sandbox: false, address: 'http://127.0.0.1:4000' });
    expect(list.isAllowed(tenant, 'http://127.0.0.1:4000/sandbox/concur/api/v3.0/expense/entries/E1')).toBe(false);
  });

  it('gives the OAuth base URL, the sandbox one for "sandbox"', () => {
    const { list, tenant } = setup({ sandbox: true, address: 'http://127.0.0.1:4000' });
    expect(list.oauthBaseUrl(tenant)).toBe('https://us.api.concursolutions.com');
    const sandboxTenant = { ...tenant, oauth: { ...tenant.oauth, baseUrl: 'sandbox' } } as TenantConfig;
    expect(list.oauthBaseUrl(sandboxTenant)).toBe('http://127.0.0.1:4000/sandbox/concur');
  });

  it('believes a geolocation only when it is an allowed origin with exactly its path prefix', () => {
    const { list, tenant } = setup({ sandbox: true, address: 'http://127.0.0.1:4000' });
    expect(list.isAllowedBase(tenant, 'https://us.api.concursolutions.com')).toBe(true);
    expect(list.isAllowedBase(tenant, 'https://us.api.concursolutions.com/')).toBe(true);
    expect(list.isAllowedBase(tenant, 'http://localhost:4000/sandbox/concur')).toBe(true);
    expect(list.isAllowedBase(tenant, 'http://localhost:4000')).toBe(false);
    expect(list.isAllowedBase(tenant, 'https://us.api.concursolutions.com/elsewhere')).toBe(false);
    expect(list.isAllowedBase(tenant, 'https://evil.test')).toBe(false);
    expect(list.isAllowedBase(tenant, 'https://us.api.concursolutions.com?x=1')).toBe(false);
    expect(list.isAllowedBase(tenant, 'https://u:p@us.api.concursolutions.com')).toBe(false);
    expect(list.isAllowedBase(tenant, 'nonsense')).toBe(false);
  });

  it("sends an item's calls to the token's geolocation when allowed, else to the item's own base", () => {
    const { list, tenant } = setup({ sandbox: true, address: 'http://127.0.0.1:4000' });
    const item = parseItemUrl('https://us.api.concursolutions.com/api/v3.0/expense/entries/E1', 'v3', list.originsFor(tenant));
    expect(list.apiBase(tenant, item, 'https://acme-proxy.example.com')).toBe('https://acme-proxy.example.com');
    expect(list.apiBase(tenant, item, 'https://evil.test')).toBe('https://us.api.concursolutions.com');
    expect(list.apiBase(tenant, item, undefined)).toBe('https://us.api.concursolutions.com');
    const sandboxItem = parseItemUrl('http://127.0.0.1:4000/sandbox/concur/api/v3.0/expense/entries/E1', 'v3', list.originsFor(tenant));
    expect(list.apiBase(tenant, sandboxItem, undefined)).toBe('http://127.0.0.1:4000/sandbox/concur');
  });

  it("admits another replica's sandbox instead of its own when told to share it (sandbox.concurOrigin)", () => {
    const { list, tenant } = setup({ sandbox: true, address: 'http://127.0.0.1:4001' });
    (list as unknown as { serverAddress: ServerAddress }).serverAddress.useSandboxOf('http://127.0.0.1:4000/');
    expect(list.isAllowed(tenant, 'http://127.0.0.1:4000/sandbox/concur/api/v3.0/expense/entries/E1')).toBe(true);
    expect(list.isAllowed(tenant, 'http://localhost:4000/sandbox/concur/api/v3.0/expense/entries/E1')).toBe(true);
    expect(list.isAllowed(tenant, 'http://127.0.0.1:4001/sandbox/concur/api/v3.0/expense/entries/E1')).toBe(false);
    const sandboxTenant = { ...tenant, oauth: { ...tenant.oauth, baseUrl: 'sandbox' } } as TenantConfig;
    expect(list.oauthBaseUrl(sandboxTenant)).toBe('http://127.0.0.1:4000/sandbox/concur');
  });
});
