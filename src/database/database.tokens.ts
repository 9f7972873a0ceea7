/** Injection token of the connector's `Kysely<Database>` (see database.types.ts). */
export const DB = Symbol('DB');
