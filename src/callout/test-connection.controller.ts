import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ConnectorBasicAuthGuard } from '../auth/basic-auth.guard.js';

/** Concur's Test Connection: any 2xx marks the connector verified; wrong credentials get 401. */
@Controller()
export class TestConnectionController {
  @Get('/system/v1.0/testconnection')
  @UseGuards(ConnectorBasicAuthGuard)
  @Header('Cache-Control', 'no-store')
  testConnection() {
    return { status: 'ok' };
  }
}
