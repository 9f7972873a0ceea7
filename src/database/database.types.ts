/** Tables of the connector's SQL store. Shared by SQLite now and PostgreSQL later. */

export interface AuditEventTable {
  /** Position in the hash chain, 1-based, gap-free. */
  seq: number;
  id: string;
  /** ISO-8601 UTC with milliseconds. */
  occurred_at: string;
  event_type: string;
  outcome: string;
  tenant_id: string | null;
  company_domain: string | null;
  acting_user: string | null;
  report_owner: string | null;
  item_url: string | null;
  /** Links the events of one launch (the launch session id). */
  launch_id: string | null;
  field: string | null;
  old_value: string | null;
  new_value: string | null;
  reason: string | null;
  correlation_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  prev_hash: string;
  hash: string;
  /**
   * How the writer hashed the row: 'hmac-sha256' from this version on; NULL (left out) in rows of
   * versions without the chain key. Not hashed and not trusted by verification: a marker by which
   * the database refuses old writers once the chain is keyed (migration 006).
   */
  hash_alg?: string | null;
}

export interface OAuthTokenTable {
  tenant_id: string;
  /** AES-256-GCM: base64(iv || tag || ciphertext). */
  refresh_token_enc: string;
  /** sha256 hex of the configured refresh token this one descends from; a new configured token wins. */
  seed_hash: string;
  updated_at: string;
  /** The token answer's geolocation (base URL for the next refresh and the API calls); null before it was known. */
  geolocation: string | null;
  /** ISO time the refresh token expires, when Concur said (refresh_expires_in); else null. */
  refresh_expires_at: string | null;
}

/** One retention purge: events purged_from..purged_through were deleted after the checkpoint event (checkpoint_seq) recorded them. */
export interface AuditCheckpointTable {
  checkpoint_seq: number;
  purged_from_seq: number;
  purged_through_seq: number;
  /** hash of event purged_through_seq: the prev_hash the first kept event must carry. */
  purged_through_hash: string;
  created_at: string;
}

/** A launch nonce already used (see ClaimedNonceRepository): never the nonce itself, only its keyed hash. */
export interface ClaimedNonceTable {
  /** HMAC-SHA256 hex of tenant id + nonce under a key derived from security.encryptionKey. */
  nonce_hash: string;
  tenant_id: string;
  /** ISO-8601 UTC with milliseconds; rows older than replay.retentionDays are purged. */
  claimed_at: string;
}

export interface Database {
  audit_events: AuditEventTable;
  audit_checkpoints: AuditCheckpointTable;
  oauth_tokens: OAuthTokenTable;
  claimed_nonces: ClaimedNonceTable;
}

