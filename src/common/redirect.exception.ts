import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * Ends a request with `303 See Other` to `location` (a local path), from a guard or anywhere
 * else an exception can be thrown; GlobalExceptionFilter sends it. Not an error: it is not logged.
 */
export class RedirectException extends HttpException {
  constructor(readonly location: string) {
    super('See Other', HttpStatus.SEE_OTHER);
  }
}
