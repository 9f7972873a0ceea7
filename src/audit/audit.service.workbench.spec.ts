import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { type Kysely, sql } from 'kysely';
import { AppConfig } from '../config/index.js';
import { createSqliteKysely } from '../database/database.factory.js';
import type { Database } from '../database/database.types.js';
import { runMigrations } from '../database/migrations.js';
import { Metrics } from '../metrics/metrics.service.js';
import { workbenchCases } from './audit-workbench.fixture.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';

/** Triggers that keep audit rows from changing; dropped and put back around a tampering statement. */
async function withoutTriggers(db: Kysely<Database>, statement: string): Promise<void> {
  const { rows } = await sql<{ name: string; sql: string }>`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'`.execute(db);
  for (const { name } of rows) await sql.raw(`DROP TRIGGER ${name}`).execute(db);
  try {
    await sql.raw(statement).execute(db);
  } finally {
    for (const trigger of rows) await sql.raw(trigger.sql).execute(db);
  }
}

describe(`${AuditService.name} for auditors (SQLite)`, () => {
  const open: Array<Kysely<Database>> = [];

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const db of open.splice(0)) await db.destroy();
  });

  workbenchCases(async () => {
    const db = createSqliteKysely(':memory:');
    open.push(db);
    await runMigrations(db);
    const repository = new AuditRepository(db);
    return {
      db,
      repository,
      service: new AuditService(repository, new Metrics(), new AppConfig()),
      tamper: (statement) => withoutTriggers(db, statement),
    };
  });
});
