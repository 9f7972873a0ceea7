import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as NestLogger } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { configureApp } from './app.setup.js';
import { AppConfig, type LoadedConfig, ServerAddress } from './config/index.js';
import { type GracefulShutdown, type GracefulShutdownOptions, installGracefulShutdown } from './lifecycle/graceful-shutdown.js';

export type CreateAppOptions = AppModuleOptions;

/**
 * Builds the whole application: modules, logger, Express setup, and HTTPS when the
 * configuration names certificate files. main.ts, the CLI and the tests all start here.
 */
export async function createApp(loaded: LoadedConfig, options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const { certFile, keyFile } = loaded.config.server.tls;
  const httpsOptions = certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(loaded, options), {
    bodyParser: false,
    bufferLogs: true,
    httpsOptions,
  });
  // Every `new Logger(X)` of the code, and Nest's own lines (buffered until now), go to pino.
  app.useLogger(app.get(Logger));
  configureApp(app);
  return app;
}

/** Listens on `port` (0: any free one) and tells the app where it can be reached from itself. */
export async function listen(app: NestExpressApplication, port: number, host: string): Promise<string> {
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = app.get(AppConfig).server.keepAliveTimeoutSeconds * 1000;
  await app.listen(port, host);
  const { port: actual } = server.address() as AddressInfo;
  const scheme = app.get(AppConfig).server.tls.certFile ? 'https' : 'http';
  const loopback = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const origin = `${scheme}://${loopback.includes(':') ? `[${loopback}]` : loopback}:${actual}`;
  app.get(ServerAddress).set(origin);
  const { concurOrigin } = app.get(AppConfig).sandbox;
  if (concurOrigin) app.get(ServerAddress).useSandboxOf(concurOrigin);
  return origin;
}

export interface RunningServer {
  app: NestExpressApplication;
  /** Where the server can be reached from this machine, e.g. http://127.0.0.1:3000. */
  origin: string;
  shutdown: GracefulShutdown;
}

/**
 * Creates the app, listens on the configured address and drains on SIGTERM/SIGINT (main.ts exits
 * with `shutdown.finished`). The configuration's warnings are logged once the server is up, where
 * whoever starts it looks; those about published credentials open with PUBLISHED CREDENTIALS IN USE.
 */
export async function startServer(
  loaded: LoadedConfig,
  options: CreateAppOptions = {},
  shutdownOptions: GracefulShutdownOptions = {},
): Promise<RunningServer> {
  const app = await createApp(loaded, options);
  const { port, host } = loaded.config.server;
  const origin = await listen(app, port, host);
  const shutdown = installGracefulShutdown(app, shutdownOptions);
  const logger = new NestLogger('Configuration');
  for (const warning of loaded.warnings) logger.warn(warning);
  return { app, origin, shutdown };
}
