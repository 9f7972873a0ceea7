import { canonicalFieldId, sameFieldId, v3FieldName } from './field-id.js';

describe('field ids', () => {
  it.each([
    ['custom9', 'custom9'],
    ['Custom9', 'custom9'],
    ['custom09', 'custom9'],
    ['CUSTOM40', 'custom40'],
    ['orgUnit1', 'orgUnit1'],
    ['OrgUnit01', 'orgUnit1'],
    ['orgunit6', 'orgUnit6'],
  ])('%s is %s', (raw, canonical) => {
    expect(canonicalFieldId(raw)).toBe(canonical);
  });

  it.each(['custom0', 'custom41', 'orgUnit7', 'custom', 'custom9x', 'xcustom9', 'custom-9', '', 'custom 9'])('%j is no field id', (raw) => {
    expect(canonicalFieldId(raw)).toBeUndefined();
  });

  it('matches spellings of the same field only', () => {
    expect(sameFieldId('custom09', 'Custom9')).toBe(true);
    expect(sameFieldId('custom9', 'custom19')).toBe(false);
    expect(sameFieldId('junk', 'junk')).toBe(false);
  });

  it('spells v3 names', () => {
    expect(v3FieldName('custom09')).toBe('Custom9');
    expect(v3FieldName('orgunit2')).toBe('OrgUnit2');
    expect(v3FieldName('nope')).toBeUndefined();
  });
});
