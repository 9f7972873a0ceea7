export * from './config.schema.js';
export { ConfigError, loadConfig, validateConfig, tenantEnvPrefix, deepMerge, type LoadedConfig } from './config.loader.js';
export { ConfigModule } from './config.module.js';
export { ServerAddress } from './server-address.js';
export { Tenants } from './tenants.js';
