import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { ConfigError, loadConfig, type LoadedConfig, ServerAddress } from './config/index.js';

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
  const logger = new Logger('Bootstrap');
  for (const warning of loaded.warnings) logger.warn(warning);

  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(loaded), { bodyParser: false });
  configureApp(app);
  const { port, host } = loaded.config.server;
  const server = await app.listen(port, host);
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  app.get(ServerAddress).set(`http://127.0.0.1:${actualPort}`);

  logger.log(`Connector listening on http://localhost:${actualPort}`);
  if (loaded.config.sandbox.enabled) {
    logger.warn(`Sandbox is ON (demo only): open http://localhost:${actualPort}/sandbox`);
  }
}

bootstrap().catch((error: unknown) => {
  console.error('concur-launch-connector failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
