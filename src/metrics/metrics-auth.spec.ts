import { metricsCredentialsMatch } from './metrics-auth.js';

const basic = (value: string) => `Basic ${Buffer.from(value, 'utf8').toString('base64')}`;

describe(metricsCredentialsMatch.name, () => {
  it('accepts the configured username and password', () => {
    expect(metricsCredentialsMatch(basic('prom:s3cret:with:colons'), 'prom', 's3cret:with:colons')).toBe(true);
    expect(metricsCredentialsMatch(`basic   ${basic('prom:pw').slice(6)}`, 'prom', 'pw')).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['a wrong password', basic('prom:nope')],
    ['a wrong username', basic('other:pw')],
    ['the username in another case', basic('PROM:pw')],
    ['no colon', basic('prompw')],
    ['empty credentials', basic(':')],
    ['a Bearer token', 'Bearer cHJvbTpwdw=='],
    ['broken base64', 'Basic cHJvbTpwd'],
    ['an oversized header', `Basic ${'A'.repeat(2000)}`],
  ])('refuses %s', (_label, header) => {
    expect(metricsCredentialsMatch(header, 'prom', 'pw')).toBe(false);
  });
});
