import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ConnectorBasicAuthGuard } from '../auth/basic-auth.guard.js';
import { RateLimit } from '../throttle/rate-limit.guard.js';

/**
 * Concur's Test Connection: any 2xx marks the connector verified; wrong credentials get 401,
 * too many calls from one IP or too many failed logins of a tenant 429.
 */
@Controller()
export class TestConnectionController {
  @Get('/system/v1.0/testconnection')
  @UseGuards(ConnectorBasicAuthGuard)
  // Below the other guard: runs first, so unknown usernames count against the client IP only.
  @RateLimit('test_connection')
  @Header('Cache-Control', 'no-store')
  testConnection() {
    return { status: 'ok' };
  }
}
