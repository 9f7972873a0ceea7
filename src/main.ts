import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, type LoadedConfig } from './config/index.js';
import { startServer } from './server.js';

async function bootstrap(): Promise<void> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`concur-launch-connector cannot start.\n${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const { origin, shutdown } = await startServer(loaded);
  const logger = new Logger('Bootstrap');
  const shown = origin.replace('127.0.0.1', 'localhost');
  logger.log(`Connector listening on ${shown}`);
  if (loaded.config.sandbox.enabled) logger.warn(`Sandbox is ON (demo only): open ${shown}/sandbox`);

  const { exitCode } = await shutdown.finished;
  process.exit(exitCode);
}

bootstrap().catch((error: unknown) => {
  console.error('concur-launch-connector failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
