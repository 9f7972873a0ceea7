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

/** The shape of `config/default.yaml` and of the file named by `CONNECTOR_CONFIG`. */

export class ServerConfig {
  @IsInt() @Min(0) @Max(65535) port = 3000;
  @IsString() @IsNotEmpty() host = '0.0.0.0';
  /** Express `trust proxy` value: false, true, a hop count or a list of addresses. */
  @IsOptional() trustProxy: boolean | number | string = false;
  /** Largest accepted query string of a launch, in bytes. */
  @IsInt() @Min(512) @Max(65536) maxQueryBytes = 8192;
}

export class PathsConfig {
  @Matches(/^\/[A-Za-z0-9._~\-/]*$/) v1Launch = '/concur/form/v1.0/get';
  @Matches(/^\/[A-Za-z0-9._~\-/]*$/) v4Launch = '/launchexternalurl/v4/form';
}

export class StorageConfig {
  /** Folder for the SQLite file and the generated encryption key (embedded default). */
  @IsString() @IsNotEmpty() dataDir = './data';
  @IsString() @IsNotEmpty() sqliteFile = 'connector.db';
}

export class SessionConfig {
  @IsInt() @Min(60) @Max(86400) ttlSeconds = 1800;
  @Matches(/^[A-Za-z0-9_-]{1,64}$/) cookieName = 'clc_launch';
}

export class ReplayConfig {
  /** How long an accepted nonce is remembered. */
  @IsInt() @Min(60) ttlSeconds = 86400;
  /** Most nonces kept in memory; the oldest is forgotten first when full. */
  @IsInt() @Min(100) maxEntries = 200000;
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

export class SecurityConfig {
  /** base64 of 32 bytes, for AES-256-GCM of stored refresh tokens. Env: CONNECTOR_ENCRYPTION_KEY. */
  @IsOptional() @IsString() encryptionKey?: string;
}

export class SandboxConfig {
  @IsBoolean() enabled = false;
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

export class AppConfig {
  @ValidateNested() @Type(() => ServerConfig) server: ServerConfig = new ServerConfig();
  @ValidateNested() @Type(() => PathsConfig) paths: PathsConfig = new PathsConfig();
  @ValidateNested() @Type(() => StorageConfig) storage: StorageConfig = new StorageConfig();
  @ValidateNested() @Type(() => SessionConfig) session: SessionConfig = new SessionConfig();
  @ValidateNested() @Type(() => ReplayConfig) replay: ReplayConfig = new ReplayConfig();
  @ValidateNested() @Type(() => ConcurConfig) concur: ConcurConfig = new ConcurConfig();
  @ValidateNested() @Type(() => SecurityConfig) security: SecurityConfig = new SecurityConfig();
  @ValidateNested() @Type(() => SandboxConfig) sandbox: SandboxConfig = new SandboxConfig();
  @IsArray() @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => TenantConfig) tenants: TenantConfig[];

  /** Folder that relative paths in the configuration (lookup files) are resolved against. Set by the loader. */
  @IsOptional() @IsString() configDir: string;
}
