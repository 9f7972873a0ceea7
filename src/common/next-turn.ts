/**
 * Resolves on the next turn of the event loop (setImmediate, captured when this module loads, so
 * tests that fake timers do not stop it). A group commit waits for it first: a SQLite statement
 * never yields to I/O, so without the wait the requests read meanwhile could not join the group.
 */
export const nextTurn = ((schedule: typeof setImmediate) => () => new Promise<void>((resolve) => schedule(resolve)))(setImmediate);
