import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { AppConfig } from '../config/index.js';
import { checkConnection, createKysely } from './database.factory.js';
import { DatabaseInfo, databaseInfoOf } from './database.info.js';
import { DB } from './database.tokens.js';
import type { Database } from './database.types.js';
import { pendingMigrations, runMigrations } from './migrations.js';

export { DatabaseInfo, type DatabaseDialect, sqliteFileOf } from './database.info.js';

/**
 * Opens the configured store and checks it answers. With `storage.migrateOnStart` it applies
 * pending migrations; without, it only warns about them (readiness stays down until a
 * migration Job or `cli migrate` has run).
 */
export async function openDatabase(config: AppConfig): Promise<Kysely<Database>> {
  const logger = new Logger(DatabaseModule.name);
  const { db, info } = createKysely(config.storage);
  try {
    await checkConnection(db, info);
    if (config.storage.migrateOnStart) {
      const applied = await runMigrations(db);
      logger.log(
        `Using ${info.description}; ${applied.length ? `applied migrations: ${applied.join(', ')}` : 'schema up to date'}`,
      );
    } else {
      const pending = await pendingMigrations(db);
      if (pending.length) {
        logger.warn(
          `Using ${info.description}; ${pending.length} migration(s) pending: ${pending.join(', ')}. ` +
            'storage.migrateOnStart is off: run the migrate command (or the migration Job); until then the connector is not ready',
        );
      } else {
        logger.log(`Using ${info.description}; schema up to date`);
      }
    }
    return db;
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw err;
  }
}

@Injectable()
export class DatabaseShutdown implements OnApplicationShutdown {
  constructor(@Inject(DB) private readonly db: Kysely<Database>) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}

/**
 * Provides the `Kysely<Database>` under the `DB` token to every module, and `DatabaseInfo`
 * (which store, where) for health and the CLI.
 */
@Global()
@Module({
  providers: [
    { provide: DB, inject: [AppConfig], useFactory: openDatabase },
    { provide: DatabaseInfo, inject: [AppConfig], useFactory: (config: AppConfig) => databaseInfoOf(config.storage) },
    DatabaseShutdown,
  ],
  exports: [DB, DatabaseInfo],
})
export class DatabaseModule {}
