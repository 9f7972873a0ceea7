import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { type Kysely, sql } from 'kysely';
import { workbenchCases } from '../../src/audit/audit-workbench.fixture.js';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import { AuditService } from '../../src/audit/audit.service.js';
import { AppConfig } from '../../src/config/index.js';
import { createPostgresKysely } from '../../src/database/database.factory.js';
import type { Database } from '../../src/database/database.types.js';
import { runMigrations } from '../../src/database/migrations.js';
import { Metrics } from '../../src/metrics/metrics.service.js';
import { createTestDatabase, describeWith } from './services.js';

describeWith(['postgres'], "the auditor's reads of the log on PostgreSQL (search, export, verify, retention)", () => {
  const cleanup: Array<() => Promise<void>> = [];

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  workbenchCases(async () => {
    const database = await createTestDatabase();
    const db: Kysely<Database> = createPostgresKysely(database.url, 4);
    cleanup.push(database.drop, () => db.destroy());
    await runMigrations(db);
    const repository = new AuditRepository(db);
    return {
      db,
      repository,
      service: new AuditService(repository, new Metrics(), new AppConfig()),
      // As a database owner would: the append-only triggers off for one statement.
      tamper: (statement) =>
        db.connection().execute(async (conn) => {
          await sql`ALTER TABLE audit_events DISABLE TRIGGER USER`.execute(conn);
          try {
            await sql.raw(statement).execute(conn);
          } finally {
            await sql`ALTER TABLE audit_events ENABLE TRIGGER USER`.execute(conn);
          }
        }),
    };
  });

});
