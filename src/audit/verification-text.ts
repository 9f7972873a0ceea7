import type { ChainVerification } from './audit.types.js';

/**
 * The one line a person reads about a verification: intact up to #N (and which events predate the
 * chain key), or where and why the chain breaks.
 */
export function describeVerification(result: ChainVerification): string {
  const from = result.firstSeq > 1 ? ` (events before #${result.firstSeq} were purged by retention)` : '';
  if (result.intact) {
    const sealed =
      result.unkeyedThroughSeq === undefined
        ? ''
        : `; #${result.firstSeq}..#${result.unkeyedThroughSeq} were written before the chain was keyed (plain SHA-256, sealed by the keyed event #${result.unkeyedThroughSeq + 1})`;
    return result.count === 0 && result.firstSeq === 1
      ? 'intact: the audit log is empty'
      : `intact up to #${result.headSeq}: ${result.count} event(s) from #${result.firstSeq}, head hash ${result.headHash}${from}${sealed}`;
  }
  return `BROKEN at #${result.brokenAt}: ${result.why}; intact up to #${result.intactUpTo}${from}`;
}
