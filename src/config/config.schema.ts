import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';

/** v4.expenses.markdown UpdateReportExpense.expenseSource, Supported values. */
export const EXPENSE_SOURCES = ['EA', 'MOB', 'OTHER', 'SE', 'TA', 'TR', 'UI'] as const;
/** v4.reports.markdown UpdateReport.reportSource, Supported values (no TA). */
export const REPORT_SOURCES = ['EA', 'MOB', 'OTHER', 'SE', 'TR', 'UI'] as const;

/** The shape of `config/default.yaml` and of the file named by `CONNECTOR_CONFIG`. */

/** In-process HTTPS, for deployments without a TLS-terminating ingress. Both files or neither. */
export class TlsConfig {
  /** PEM certificate chain file. */
  @IsOptional() @IsString() @IsNotEmpty() certFile?: string;
  /** PEM private key file. */
  @IsOptional() @IsString() @IsNotEmpty() keyFile?: string;
}

export class ServerConfig {
  @IsInt() @Min(0) @Max(65535) port = 3000;
  @IsString() @IsNotEmpty() host = '0.0.0.0';
  /**
   * Express `trust proxy` value: false, a hop count, or addresses/CIDR ranges (comma-separated).
   * `true` (trust every hop) is refused in production: anyone could forge X-Forwarded-For.
   */
  @IsOptional() trustProxy: boolean | number | string = false;
  /** Largest accepted query string of a launch, in bytes. */
  @IsInt() @Min(512) @Max(65536) maxQueryBytes = 8192;
  /**
   * Seconds an idle keep-alive connection stays open. Longer than the idle timeout of the proxy in
   * front (60 s for AWS ALB and ingress-nginx), so the proxy never reuses a connection the
   * connector is closing (a reset, answered to the user as 502). Node's own default is 5.
   */
  @IsInt() @Min(1) @Max(3600) keepAliveTimeoutSeconds = 65;
  /** On SIGTERM: seconds readiness reports "shutting down" while requests are still served, so load balancers stop sending new ones. */
  @IsInt() @Min(0) @Max(300) shutdownDelaySeconds = 0;
  /** On SIGTERM, after the delay: seconds in-flight requests get to finish before connections are closed. */
  @IsInt() @Min(0) @Max(600) shutdownGraceSeconds = 25;
  @ValidateNested() @Type(() => TlsConfig) tls: TlsConfig = new TlsConfig();
}

export class PathsConfig {
  @Matches(/^\/[A-Za-z0-9._~\-/]*$/) v1Launch = '/concur/form/v1.0/get';
  @Matches(/^\/[A-Za-z0-9._~\-/]*$/) v4Launch = '/launchexternalurl/v4/form';
}

export class StorageConfig {
  /** Folder for the SQLite file and the generated encryption key (embedded default). */
  @IsString() @IsNotEmpty() dataDir = './data';
  @IsString() @IsNotEmpty() sqliteFile = 'connector.db';
  /** postgres://… : PostgreSQL instead of SQLite. Env: DATABASE_URL. */
  @IsOptional() @IsString() @Matches(/^postgres(ql)?:\/\//) databaseUrl?: string;
  /** Apply pending migrations at start; off when a Helm hook Job or `cli migrate` does it. Env: DATABASE_MIGRATE_ON_START. */
  @IsBoolean() migrateOnStart = true;
  /** Largest number of PostgreSQL connections per replica. */
  @IsInt() @Min(1) @Max(100) poolSize = 10;
}

export class RedisConfig {
  /** redis://… or rediss://… : nonces, sessions, rate limits and token cache in Redis instead of memory. Env: REDIS_URL. */
  @IsOptional() @IsString() @Matches(/^rediss?:\/\//) url?: string;
  /** Prefix of every key the connector writes, so several deployments can share one Redis. */
  @Matches(/^[A-Za-z0-9:_-]{0,64}$/) keyPrefix = 'clc:';
}

export class RateLimitRule {
  /** Requests allowed per window. */
  @IsInt() @Min(1) @Max(1000000) limit: number;
  @IsInt() @Min(1) @Max(86400) windowSeconds: number;
}

export class RateLimitConfig {
  @IsBoolean() enabled = true;
  /** Signed launches per client IP. */
  @ValidateNested() @Type(() => RateLimitRule) launch: RateLimitRule = Object.assign(new RateLimitRule(), { limit: 60, windowSeconds: 60 });
  /** Test Connection calls per client IP. */
  @ValidateNested() @Type(() => RateLimitRule) testConnection: RateLimitRule = Object.assign(new RateLimitRule(), { limit: 30, windowSeconds: 60 });
  /** Failed Test Connection logins per tenant (password guessing); when reached, the tenant's Test Connection is refused for the window. */
  @ValidateNested() @Type(() => RateLimitRule) failedTestConnection: RateLimitRule = Object.assign(new RateLimitRule(), { limit: 10, windowSeconds: 900 });
  /**
   * Most per-address traffic counters the memory store holds; when full, requests from new
   * addresses are refused (429) until counters expire. Failure counters (sign-in, Test
   * Connection lockouts) are kept apart and never evicted before they expire.
   */
  @IsInt() @Min(1000) @Max(10000000) memoryMaxKeys = 100000;
}

export class MetricsConfig {
  @IsBoolean() enabled = true;
  /** Basic auth for /metrics; both or neither. Env: METRICS_USERNAME, METRICS_PASSWORD. */
  @IsOptional() @IsString() @MinLength(1) @MaxLength(128) username?: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(128) password?: string;
}

export class LoggingConfig {
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) level = 'info';
  /** json: one JSON object a line. pretty: readable, for a developer's terminal. auto: pretty on a terminal outside production, else json. Env: LOG_LEVEL, LOG_FORMAT. */
  @IsIn(['auto', 'json', 'pretty']) format: 'auto' | 'json' | 'pretty' = 'auto';
}

export class SessionConfig {
  @IsInt() @Min(60) @Max(86400) ttlSeconds = 1800;
  @Matches(/^[A-Za-z0-9_-]{1,64}$/) cookieName = 'clc_launch';
}

export class ReplayConfig {
  /** How long a claimed nonce stays in the fast path (memory or Redis); the database keeps the record for retentionDays. */
  @IsInt() @Min(60) ttlSeconds = 86400;
  /** Most nonces kept in the memory fast path; the oldest is forgotten first when full (the database still refuses it). */
  @IsInt() @Min(100) maxEntries = 200000;
  /**
   * Days a claimed nonce (a keyed hash of tenant and nonce) is kept in the database, so a used
   * launch URL is refused across restarts and past ttlSeconds. Unset: audit.retention.days, or
   * 400 when the audit keeps everything.
   */
  @IsOptional() @IsInt() @Min(1) @Max(36500) retentionDays?: number;
}

export class ConcurConfig {
  @IsInt() @Min(100) @Max(120000) timeoutMs = 10000;
  @IsInt() @Min(0) @Max(10) maxRetries = 2;
  @IsInt() @Min(0) @Max(10000) retryBaseDelayMs = 200;
  /** A Retry-After longer than this is not waited for: the user gets the Retry page. */
  @IsInt() @Min(0) @Max(120) maxRetryAfterSeconds = 10;
  /** An access token is refreshed this long before it expires. */
  @IsInt() @Min(0) @Max(3000) tokenRefreshSkewSeconds = 300;
  /** Concur's own API origins; a token is only ever sent to these (plus tenant extras). */
  @IsArray() @ArrayMinSize(1) @Matches(/^https:\/\/[A-Za-z0-9.-]+(:\d+)?$/, { each: true })
  apiOrigins: string[] = [];
}

/** The shortest prefix a trusted-proxy range may have in production (server.trustProxy, audit.trustedHeader.proxies). */
export class TrustedProxyPrefixConfig {
  /** IPv4: /0 to /7 are refused by default. */
  @IsInt() @Min(0) @Max(32) ipv4 = 8;
  /** IPv6: ranges wider than a /32 (a whole provider's allocation) are refused by default. */
  @IsInt() @Min(0) @Max(128) ipv6 = 32;
}

export class SecurityConfig {
  /** base64 of 32 bytes, for AES-256-GCM of stored refresh tokens. Env: CONNECTOR_ENCRYPTION_KEY. */
  @IsOptional() @IsString() encryptionKey?: string;
  /**
   * base64 of 32 bytes: the HMAC-SHA256 key of the audit chain. Never stored in the database, so
   * whoever can only write the database cannot forge a consistent chain. Env: CONNECTOR_AUDIT_CHAIN_KEY.
   */
  @IsOptional() @IsString() auditChainKey?: string;
  @ValidateNested() @Type(() => TrustedProxyPrefixConfig) trustedProxyMinPrefix: TrustedProxyPrefixConfig = new TrustedProxyPrefixConfig();
}

export class SandboxConfig {
  @IsBoolean() enabled = false;
  /**
   * Replicas on one machine that should share one stand-in Concur (as real replicas share
   * Concur): the origin of the replica whose sandbox serves it, e.g. http://127.0.0.1:3000.
   * Unset: this server's own sandbox.
   */
  @IsOptional() @IsString() @Matches(/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/) concurOrigin?: string;
}

export class ConnectorCredentials {
  @IsString() @MinLength(1) @MaxLength(128) username: string;
  @IsString() @MinLength(1) @MaxLength(128) password: string;
}

export class LaunchRules {
  @IsArray() @ArrayMinSize(1) @ArrayUnique() @IsIn([1, 4], { each: true }) versions: Array<1 | 4> = [1, 4];
  @IsIn(['sha256', 'sha1']) v4Algorithm: 'sha256' | 'sha1' = 'sha256';
}

export class OAuthClientConfig {
  /** Base URL of Concur's OAuth2 service, e.g. https://us.api.concursolutions.com. `sandbox` means the built-in sandbox. */
  @IsString() @Matches(/^(https?:\/\/[^\s]+|sandbox)$/) baseUrl: string;
  @IsString() @IsNotEmpty() clientId: string;
  @IsString() @IsNotEmpty() clientSecret: string;
  @IsString() @IsNotEmpty() refreshToken: string;
  /**
   * What a v4 launch's client_auth_code is used for (v4.launch-external-url.markdown: the connector
   * must exchange it, authorization_code grant, for the user's tokens). preferred: reads and writes
   * as the user when the launch carries a code that Concur exchanges, else with the company token
   * (the audit says which); required: a launch without a usable code is refused; off: the company token.
   */
  @IsIn(['off', 'preferred', 'required']) userTokens: 'off' | 'preferred' | 'required' = 'preferred';
  /**
   * The Redirect URL registered for the client id (sent as redirect_uri in the authorization_code
   * grant). Unset: the origin the launch arrived at (https://host), which is what Concur's
   * registration asks for ("base URL from which client will call to get User JWT").
   */
  @IsOptional() @IsString() @Matches(/^https?:\/\/[^\s]+$/) redirectUri?: string;
}

export class V1FieldRule {
  /** The v3 entry field that receives the value: Custom1..Custom40 or OrgUnit1..OrgUnit6. */
  @Matches(/^(Custom([1-9]|[1-3][0-9]|40)|OrgUnit[1-6])$/) field: string;
}

export class V4FieldRules {
  /** custom_field_launched_from ids that may be written at report header level. */
  @IsArray() @Matches(/^(custom([1-9]|[1-3][0-9]|40)|orgUnit[1-6])$/, { each: true }) header: string[] = [];
  @IsArray() @Matches(/^(custom([1-9]|[1-3][0-9]|40)|orgUnit[1-6])$/, { each: true }) entry: string[] = [];
  @IsArray() @Matches(/^(custom([1-9]|[1-3][0-9]|40)|orgUnit[1-6])$/, { each: true }) allocation: string[] = [];
  /** expenseSource of an expense PATCH (Required by v4.expenses.markdown; its Supported values). */
  @IsIn(EXPENSE_SOURCES) expenseSource: (typeof EXPENSE_SOURCES)[number] = 'OTHER';
  /** reportSource of a report header PATCH (Required by v4.reports.markdown UpdateReport; its Supported values). */
  @IsIn(REPORT_SOURCES) reportSource: (typeof REPORT_SOURCES)[number] = 'OTHER';
}

export class FieldRules {
  @IsOptional() @ValidateNested() @Type(() => V1FieldRule) v1?: V1FieldRule;
  @ValidateNested() @Type(() => V4FieldRules) v4: V4FieldRules = new V4FieldRules();
}

export class LookupSourceConfig {
  @IsIn(['file']) type: 'file' = 'file';
  /** CSV (code,label header) or JSON array of {code,label}, relative to the config folder. */
  @IsString() @IsNotEmpty() file: string;
}

export class TenantConfig {
  /** Short stable id, used in environment variable names and audit rows. */
  @Matches(/^[a-z0-9][a-z0-9-]{0,39}$/) id: string;
  @IsString() @IsNotEmpty() name: string;
  @IsArray() @ArrayMinSize(1) @Matches(/^[^\s/]{1,253}$/, { each: true }) companyDomains: string[];
  @ValidateNested() @Type(() => ConnectorCredentials) connector: ConnectorCredentials;
  @ValidateNested() @Type(() => LaunchRules) launch: LaunchRules = new LaunchRules();
  @ValidateNested() @Type(() => OAuthClientConfig) oauth: OAuthClientConfig;
  /** Extra Concur origins this tenant may reach (https://host[:port]). */
  @IsArray() @Matches(/^https:\/\/[A-Za-z0-9.-]+(:\d+)?$/, { each: true }) allowedOrigins: string[] = [];
  @ValidateNested() @Type(() => FieldRules) fields: FieldRules = new FieldRules();
  @ValidateNested() @Type(() => LookupSourceConfig) lookup: LookupSourceConfig;
}

export class AuditorAccount {
  /** Sign-in name; also the acting user of the auditor's own audit events. */
  @Matches(/^[A-Za-z0-9._@-]{1,64}$/) username: string;
  /** `scrypt$N$r$p$salt$hash` (base64url), as printed by `concur-launch-connector hash-password`. Never the password itself. */
  @Matches(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{32,}$/, {
    message: 'passwordHash must be a scrypt hash from `concur-launch-connector hash-password` (scrypt$N$r$p$salt$hash)',
  })
  passwordHash: string;
}

export class AuditSignInConfig {
  /** Failed sign-ins of one user name (known or not) before it is locked. */
  @IsInt() @Min(1) @Max(100) maxFailures = 5;
  /** How long a locked user name stays locked, and the window failures are counted in. */
  @IsInt() @Min(10) @Max(86400) lockoutSeconds = 900;
  /** Failed sign-ins from one client address (any user names) before the address is refused for lockoutSeconds. */
  @IsInt() @Min(1) @Max(100000) maxFailuresPerAddress = 20;
}

/** Sign-in by an authenticating proxy (oauth2-proxy and the like) in front of the connector. */
export class AuditTrustedHeaderConfig {
  @IsBoolean() enabled = false;
  /** Header holding the signed-in user's name. */
  @Matches(/^[A-Za-z0-9-]{1,64}$/) userHeader = 'X-Forwarded-User';
  /** Header holding the user's groups, comma-separated. */
  @Matches(/^[A-Za-z0-9-]{1,64}$/) groupsHeader = 'X-Forwarded-Groups';
  /** Group a user must be in to audit; empty: any user the proxy lets through. */
  @IsArray() @IsString({ each: true }) @IsNotEmpty({ each: true }) auditorGroups: string[] = [];
  /** Addresses (IPv4/IPv6, optionally /prefix) of the proxies; the headers of anyone else are ignored. */
  @IsArray() @Matches(/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/, { each: true }) proxies: string[] = [];
}

export class AuditRetentionConfig {
  /** Events older than this many days are purged, leaving a checkpoint; 0 keeps everything. */
  @IsInt() @Min(0) @Max(36500) days = 0;
  /** How often a replica looks for events to purge. */
  @IsInt() @Min(1) @Max(168) checkIntervalHours = 24;
}

export class AuditConfig {
  @IsArray() @ValidateNested({ each: true }) @Type(() => AuditorAccount) auditors: AuditorAccount[] = [];
  @ValidateNested() @Type(() => AuditSignInConfig) signIn: AuditSignInConfig = new AuditSignInConfig();
  @ValidateNested() @Type(() => AuditTrustedHeaderConfig) trustedHeader: AuditTrustedHeaderConfig = new AuditTrustedHeaderConfig();
  @IsInt() @Min(300) @Max(86400) sessionTtlSeconds = 3600;
  @Matches(/^[A-Za-z0-9_-]{1,64}$/) cookieName = 'clc_audit';
  /** Seconds between log lines giving the chain head (seq and hash) so it can be kept elsewhere; 0: never. */
  @IsInt() @Min(0) @Max(86400) headLogIntervalSeconds = 3600;
  @ValidateNested() @Type(() => AuditRetentionConfig) retention: AuditRetentionConfig = new AuditRetentionConfig();
  /**
   * Rejected launches audited one by one per client address and window; beyond it, one event per
   * window counts those not written individually (anyone can send a rejected launch).
   */
  @ValidateNested() @Type(() => RateLimitRule) rejectedLaunches: RateLimitRule = Object.assign(new RateLimitRule(), { limit: 30, windowSeconds: 60 });
}

export class AppConfig {
  @ValidateNested() @Type(() => ServerConfig) server: ServerConfig = new ServerConfig();
  @ValidateNested() @Type(() => PathsConfig) paths: PathsConfig = new PathsConfig();
  @ValidateNested() @Type(() => StorageConfig) storage: StorageConfig = new StorageConfig();
  @ValidateNested() @Type(() => SessionConfig) session: SessionConfig = new SessionConfig();
  @ValidateNested() @Type(() => ReplayConfig) replay: ReplayConfig = new ReplayConfig();
  @ValidateNested() @Type(() => ConcurConfig) concur: ConcurConfig = new ConcurConfig();
  @ValidateNested() @Type(() => SecurityConfig) security: SecurityConfig = new SecurityConfig();
  @ValidateNested() @Type(() => SandboxConfig) sandbox: SandboxConfig = new SandboxConfig();
  @ValidateNested() @Type(() => RedisConfig) redis: RedisConfig = new RedisConfig();
  @ValidateNested() @Type(() => RateLimitConfig) rateLimit: RateLimitConfig = new RateLimitConfig();
  @ValidateNested() @Type(() => MetricsConfig) metrics: MetricsConfig = new MetricsConfig();
  @ValidateNested() @Type(() => LoggingConfig) logging: LoggingConfig = new LoggingConfig();
  @ValidateNested() @Type(() => AuditConfig) audit: AuditConfig = new AuditConfig();
  @IsArray() @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => TenantConfig) tenants: TenantConfig[];

  /** Folder that relative paths in the configuration (lookup files) are resolved against. Set by the loader. */
  @IsOptional() @IsString() configDir: string;
}
