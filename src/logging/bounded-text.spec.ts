import { bounded, LOG_LIMITS } from './bounded-text.js';

describe(bounded.name, () => {
  it('keeps a text within the limit as it is', () => {
    expect(bounded('GET /launch/s/abc 200', 100)).toBe('GET /launch/s/abc 200');
    expect(bounded('x'.repeat(LOG_LIMITS.path), LOG_LIMITS.path)).toBe('x'.repeat(LOG_LIMITS.path));
  });

  it('cuts a longer one and says how much it dropped', () => {
    const out = bounded(`/${'a/'.repeat(8000)}`, 512);
    expect(out.length).toBeLessThan(512 + 20);
    expect(out).toMatch(/^\/a\/a\//);
    expect(out.endsWith(`…[+${16001 - 512} chars]`)).toBe(true);
  });

  it('drops a word cut in two whole, so no stub of a credential is left', () => {
    const text = `${'x '.repeat(50)}Bearer abcdefghijklmnop and more`;
    const out = bounded(text, text.indexOf('abcdefgh') + 5);
    expect(out.startsWith(`${'x '.repeat(50)}Bearer …[+`)).toBe(true);
    expect(out).not.toContain('abcde');
  });

  it('cuts inside a word longer than 64 characters, which keeps enough of it to be recognised', () => {
    const out = bounded(`Bearer ${'t'.repeat(500)}`, 100);
    expect(out).toBe(`Bearer ${'t'.repeat(93)}…[+407 chars]`);
  });

  it('never splits a surrogate pair', () => {
    const out = bounded(`${'a'.repeat(9)}😀${'b'.repeat(10)}`, 10);
    expect(out).toBe(`${'a'.repeat(9)}…[+12 chars]`);
    expect(() => encodeURIComponent(out)).not.toThrow();
  });
});
