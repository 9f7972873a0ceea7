import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, Get, Logger, Param, Patch, Post, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { readFormBody, readJsonBody } from './sandbox.body.js';
import { failureReply, faultReply, oauthInvalidRequest, type ApiFamily, type Reply } from './sandbox.errors.js';
import { SandboxFaults, type CallKind } from './sandbox.faults.js';
import { SandboxOAuth } from './sandbox.oauth.js';
import type { Principal } from './sandbox.principal.js';
import { SandboxStore, type StoreResult, type V4Path } from './sandbox.store.js';

/** One route pattern for the three v4 item levels; the store tells them apart by the ids present. */
const V4_REPORT = 'expensereports/v4/users/:userId/context/:context/reports/:reportId';
const V4_ITEMS = [V4_REPORT, `${V4_REPORT}/expenses/:expenseId`, `${V4_REPORT}/allocations/:allocationId`];

/** The scheme and Host header a request came with: the sandbox tells its two origins apart by it. */
function requestOrigin(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? ''}`;
}

function pathOf(req: Request): string {
  return req.originalUrl.split('?')[0];
}

/**
 * The fake Concur: OAuth2 token endpoint, Expense Entries v3 and Expense Reports v4, answering as
 * Concur's pages say. The store and the OAuth service decide; this maps HTTP to them and back.
 */
@Controller('sandbox/concur')
export class SandboxConcurController {
  private readonly logger = new Logger(SandboxConcurController.name);

  constructor(
    private readonly store: SandboxStore,
    private readonly faults: SandboxFaults,
    private readonly oauth: SandboxOAuth,
  ) {}

  @Post('oauth2/v0/token')
  async token(@Req() req: Request, @Res() res: Response): Promise<void> {
    this.store.countTokenRequest();
    await this.serve(req, res, 'token', async () => {
      const form = await readFormBody(req);
      if (!form.ok) return oauthInvalidRequest(form.message, this.oauth.geolocation(requestOrigin(req)), 413);
      return this.oauth.token(form.value, requestOrigin(req));
    });
  }

  @Get('api/v3.0/expense/entries/:id')
  async getEntry(@Req() req: Request, @Res() res: Response, @Param('id') id: string): Promise<void> {
    await this.serveApi(req, res, 'v3', (principal) => this.answer(req, 'v3', this.store.readEntry(id, principal), 200));
  }

  /** Expense Entries v3 PUT answers 200 with no body (Entries.swagger2.json: Void). */
  @Put('api/v3.0/expense/entries/:id')
  async putEntry(@Req() req: Request, @Res() res: Response, @Param('id') id: string): Promise<void> {
    await this.serveApi(req, res, 'v3', async (principal) => {
      const body = await readJsonBody(req);
      return this.answer(req, 'v3', body.ok ? this.store.updateEntry(id, body.value, principal) : body, 200);
    });
  }

  @Get(V4_ITEMS)
  async getV4Item(@Req() req: Request, @Res() res: Response, @Param() path: V4Path): Promise<void> {
    await this.serveApi(req, res, 'v4', (principal) => this.answer(req, 'v4', this.store.readV4(path, principal), 200));
  }

  @Patch(V4_ITEMS)
  async patchV4Item(@Req() req: Request, @Res() res: Response, @Param() path: V4Path): Promise<void> {
    await this.serveApi(req, res, 'v4', async (principal) => {
      const body = await readJsonBody(req);
      return this.answer(req, 'v4', body.ok ? this.store.patchV4(path, body.value, principal) : body, 204);
    });
  }

  /** "Update a Specific Expense Entry in a Submitted Report" (v4.expenses.markdown). */
  @Patch('expensereports/v4/reports/:reportId/expenses/:expenseId')
  async patchExpenseOfReport(
    @Req() req: Request,
    @Res() res: Response,
    @Param('reportId') reportId: string,
    @Param('expenseId') expenseId: string,
  ): Promise<void> {
    await this.serveApi(req, res, 'v4', async (principal) => {
      const body = await readJsonBody(req);
      return this.answer(req, 'v4', body.ok ? this.store.patchExpenseOfReport(reportId, expenseId, body.value, principal) : body, 204);
    });
  }

  /** A store result as the API answers it: the value (or no body) with `status`, else the API's error body. */
  private answer(req: Request, family: 'v3' | 'v4', result: StoreResult<unknown>, status: 200 | 204): Reply {
    if (!result.ok) return failureReply(family, result, pathOf(req));
    return result.value === undefined ? { status } : { status, body: result.value };
  }

  /** An API call: the access token first (401, or 403 when revoked), then the handler as its principal. */
  private serveApi(
    req: Request,
    res: Response,
    family: 'v3' | 'v4',
    handle: (principal: Principal) => Reply | Promise<Reply>,
  ): Promise<void> {
    return this.serve(req, res, family, async () => {
      const auth = this.oauth.authenticate(req.headers.authorization, requestOrigin(req));
      if (!auth.ok) return failureReply(family, auth, pathOf(req));
      return { ...(await handle(auth.principal)), principal: auth.principal };
    });
  }

  /** Pending faults first (delay, then a status or a dropped connection), then the real answer; every call is recorded. */
  private async serve(req: Request, res: Response, family: ApiFamily, handle: () => Reply | Promise<Reply>): Promise<void> {
    const kind: CallKind = family === 'token' ? 'token' : 'api';
    const header = req.headers['concur-correlationid'];
    const record = (status: number, principal: Principal | null = null) =>
      this.store.record({
        method: req.method,
        path: pathOf(req),
        correlationId: typeof header === 'string' ? header.slice(0, 128) : null,
        status,
        principal,
      });
    const fault = this.faults.take(kind);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.reset) {
      this.logger.warn(`fault: dropping the connection of ${req.method} ${req.path}`);
      record(0);
      res.socket?.destroy();
      return;
    }
    const reply = fault?.status
      ? faultReply(family, fault.status, pathOf(req), this.oauth.geolocation(requestOrigin(req)), fault.retryAfterSeconds)
      : await handle();
    record(reply.status, reply.principal ?? null);
    res.status(reply.status);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.body === undefined) res.end();
    else res.json(reply.body);
  }
}
