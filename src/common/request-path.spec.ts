import { withoutTrailingSlashes } from './request-path.js';

describe(withoutTrailingSlashes.name, () => {
  it.each([
    ['/health/live/', '/health/live'],
    ['/health/live///', '/health/live'],
    ['/health/live', '/health/live'],
    ['/', ''],
    ['', ''],
    ['/a//b', '/a//b'],
  ])('%s -> %s', (path, expected) => {
    expect(withoutTrailingSlashes(path)).toBe(expected);
  });

  it('handles a run of 16,000 slashes that does not end the path', () => {
    const path = `${'/'.repeat(16000)}a`;
    expect(withoutTrailingSlashes(path)).toBe(path);
    expect(withoutTrailingSlashes(`${path}${'/'.repeat(16000)}`)).toBe(path);
  });
});
