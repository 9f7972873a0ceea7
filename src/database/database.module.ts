import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { AppConfig, type StorageConfig } from '../config/index.js';
import { createSqliteKysely } from './database.factory.js';
import { DB } from './database.tokens.js';
import type { Database } from './database.types.js';
import { runMigrations } from './migrations.js';

/** Where the SQLite database lives: `:memory:` as is, otherwise a file in the data folder. */
export function sqliteFileOf(storage: StorageConfig): string {
  return storage.sqliteFile === ':memory:' ? ':memory:' : resolve(storage.dataDir, storage.sqliteFile);
}

async function openDatabase(config: AppConfig): Promise<Kysely<Database>> {
  const logger = new Logger(DatabaseModule.name);
  const file = sqliteFileOf(config.storage);
  const db = createSqliteKysely(file);
  try {
    const applied = await runMigrations(db);
    logger.log(
      `SQLite database at ${file}; ${applied.length ? `applied migrations: ${applied.join(', ')}` : 'schema up to date'}`,
    );
    return db;
  } catch (err) {
    await db.destroy();
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

/** Provides the migrated `Kysely<Database>` under the `DB` token to every module. */
@Global()
@Module({
  providers: [{ provide: DB, inject: [AppConfig], useFactory: openDatabase }, DatabaseShutdown],
  exports: [DB],
})
export class DatabaseModule {}
