import { type DynamicModule, Inject, Injectable, Module } from '@nestjs/common';
import type { RequestHandler } from 'express';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { requestLogging } from './logging.options.js';

/** Injection token of the application's root pino logger. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * The request logging middleware of this application instance (logging.options.ts). app.setup.ts mounts it right after the
 * correlation middleware, so every request is logged, even one a body parser refused.
 */
@Injectable()
export class RequestLogging {
  readonly middleware: RequestHandler;

  constructor(@Inject(ROOT_LOGGER) logger: Logger) {
    this.middleware = requestLogging(logger) as unknown as RequestHandler;
  }
}

/**
 * JSON logs through pino. nestjs-pino's Logger (app.useLogger in server.ts) carries every
 * `new Logger(X)` of the code into pino, with the request's correlation ID while serving one.
 * `useExisting`: nestjs-pino reuses the request logger of RequestLogging instead of mounting its own.
 * nestjs-pino keeps one root logger per process, for lines outside a request: with two apps in one
 * process (tests), those of the second go where the first app's go; request lines stay per app.
 */
@Module({})
export class LoggingModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: LoggingModule,
      global: true,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger, wrapSerializers: false }, useExisting: true })],
      providers: [{ provide: ROOT_LOGGER, useValue: logger }, RequestLogging],
      exports: [ROOT_LOGGER, RequestLogging, LoggerModule],
    };
  }
}
