import { Inject, Injectable } from '@nestjs/common';
import type { Kysely, Selectable } from 'kysely';
import { DB } from '../database/database.tokens.js';
import type { Database, OAuthTokenTable } from '../database/database.types.js';

export type OAuthTokenRow = Selectable<OAuthTokenTable>;

/** The latest refresh token of each tenant, sealed by SecretBox. */
@Injectable()
export class TokenRepository {
  constructor(@Inject(DB) private readonly db: Kysely<Database>) {}

  find(tenantId: string): Promise<OAuthTokenRow | undefined> {
    return this.db.selectFrom('oauth_tokens').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  }

  /** Inserts or replaces the tenant's row; an omitted geolocation or expiry is stored as unknown (null). */
  async save(input: Omit<OAuthTokenRow, 'geolocation' | 'refresh_expires_at'> & Partial<Pick<OAuthTokenRow, 'geolocation' | 'refresh_expires_at'>>): Promise<void> {
    const row: OAuthTokenRow = { geolocation: null, refresh_expires_at: null, ...input };
    await this.db
      .insertInto('oauth_tokens')
      .values(row)
      .onConflict((oc) =>
        oc.column('tenant_id').doUpdateSet({
          refresh_token_enc: row.refresh_token_enc,
          seed_hash: row.seed_hash,
          updated_at: row.updated_at,
          geolocation: row.geolocation,
          refresh_expires_at: row.refresh_expires_at,
        }),
      )
      .execute();
  }
}
