import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { HttpException } from '@nestjs/common';

/**
 * Body parsers whose failures (bad JSON, too large, wrong charset) become the same clear 4xx
 * as every other error, instead of Express's default handler.
 */
export function bodyParsers(onError: (err: HttpException, req: Request, res: Response) => void): RequestHandler[] {
  const parsers = [express.json({ limit: '32kb' }), express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 })];
  return parsers.map(
    (parser) => (req: Request, res: Response, next: NextFunction) =>
      parser(req, res, (err?: unknown) => {
        if (!err) return next();
        const status = Number((err as { status?: number }).status) || 400;
        const message =
          status === 413
            ? 'The request body is too large.'
            : 'The request body could not be read. Check that it is well-formed JSON or form data.';
        onError(new HttpException(message, status >= 400 && status < 500 ? status : 400), req, res);
      }),
  );
}
