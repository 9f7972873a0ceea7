import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, Get, Logger, Param, Patch, Post, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ServerAddress } from '../config/index.js';
import { SANDBOX_API_PREFIX } from './sandbox.launch.js';
import { SandboxFaults, type CallKind } from './sandbox.faults.js';
import { SandboxOAuth } from './sandbox.oauth.js';
import { SandboxStore, type StoreResult, type V4Path } from './sandbox.store.js';

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const MAX_BODY_BYTES = 64 * 1024;

function v3Error(result: Extract<StoreResult<unknown>, { ok: false }>): Reply {
  return { status: result.status, body: { Message: result.message } };
}

function v4Error(result: Extract<StoreResult<unknown>, { ok: false }>): Reply {
  const errorId = { 400: 'invalidRequest', 403: 'forbidden', 404: 'notFound' }[result.status];
  return { status: result.status, body: { errorId, errorMessage: result.message } };
}

/**
 * Body of a JSON request. Express parses application/json; a JSON Merge Patch sent as
 * application/merge-patch+json is left unread by the parser, so it is read here.
 */
async function jsonBody(req: Request): Promise<unknown> {
  if (req.body !== undefined || req.readableEnded) return req.body;
  if (!/json/i.test(req.headers['content-type'] ?? '')) return undefined;
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** One route pattern for the three v4 item levels; the store tells them apart by the ids present. */
const V4_REPORT = 'expensereports/v4/users/:userId/context/:context/reports/:reportId';

/** The fake Concur: OAuth2 token endpoint, Expense Entries v3 and Expense Reports v4, answering as Concur does. */
@Controller('sandbox/concur')
export class SandboxConcurController {
  private readonly logger = new Logger(SandboxConcurController.name);

  constructor(
    private readonly store: SandboxStore,
    private readonly faults: SandboxFaults,
    private readonly oauth: SandboxOAuth,
    private readonly serverAddress: ServerAddress,
  ) {}

  @Post('oauth2/v0/token')
  async token(@Req() req: Request, @Res() res: Response): Promise<void> {
    this.store.countTokenRequest();
    await this.serve(req, res, 'token', () => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (!this.oauth.clientMatches(body.client_id, body.client_secret)) {
        return { status: 401, body: { error: 'invalid_client' } };
      }
      if (body.grant_type !== 'refresh_token' || !this.oauth.isValidRefreshToken(body.refresh_token)) {
        return { status: 400, body: { error: 'invalid_grant' } };
      }
      const { accessToken, expiresIn } = this.oauth.issueAccessToken();
      return {
        status: 200,
        headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
        body: {
          access_token: accessToken,
          token_type: 'Bearer',
          expires_in: expiresIn,
          refresh_token: this.oauth.issueRefreshToken(),
          geolocation: `${this.origin(req)}${SANDBOX_API_PREFIX}`,
          scope: 'EXPRPT',
        },
      };
    });
  }

  @Get('api/v3.0/expense/entries/:id')
  async getEntry(@Req() req: Request, @Res() res: Response, @Param('id') id: string): Promise<void> {
    await this.serveApi(req, res, () => {
      const entry = this.store.getEntry(id);
      return entry ? { status: 200, body: entry } : { status: 404, body: { Message: `Expense entry ${id} was not found` } };
    });
  }

  @Put('api/v3.0/expense/entries/:id')
  async putEntry(@Req() req: Request, @Res() res: Response, @Param('id') id: string): Promise<void> {
    await this.serveApi(req, res, async () => {
      const result = this.store.updateEntry(id, await jsonBody(req));
      if (!result.ok) return v3Error(result);
      return { status: 200, body: { ID: result.value.ID, URI: `${this.origin(req)}${SANDBOX_API_PREFIX}/api/v3.0/expense/entries/${encodeURIComponent(id)}` } };
    });
  }

  @Get([V4_REPORT, `${V4_REPORT}/expenses/:expenseId`, `${V4_REPORT}/allocations/:allocationId`])
  async getV4Item(@Req() req: Request, @Res() res: Response, @Param() path: V4Path): Promise<void> {
    await this.serveApi(req, res, () => this.getV4(path));
  }

  @Patch([V4_REPORT, `${V4_REPORT}/expenses/:expenseId`, `${V4_REPORT}/allocations/:allocationId`])
  async patchV4Item(@Req() req: Request, @Res() res: Response, @Param() path: V4Path): Promise<void> {
    await this.serveApi(req, res, () => this.patchV4(req, path));
  }

  private getV4(path: V4Path): Reply {
    const result = this.store.getV4(path);
    return result.ok ? { status: 200, body: result.value } : v4Error(result);
  }

  private async patchV4(req: Request, path: V4Path): Promise<Reply> {
    const result = this.store.patchV4(path, await jsonBody(req));
    return result.ok ? { status: 204 } : v4Error(result);
  }

  private serveApi(req: Request, res: Response, handle: () => Reply | Promise<Reply>): Promise<void> {
    return this.serve(req, res, 'api', () => {
      const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!match || !this.oauth.isValidAccessToken(match[1])) {
        return {
          status: 401,
          headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
          body: { error: 'invalid_token' },
        };
      }
      return handle();
    });
  }

  /** Pending faults first (delay, then a status or a dropped connection), then the real answer; every call is recorded. */
  private async serve(req: Request, res: Response, kind: CallKind, handle: () => Reply | Promise<Reply>): Promise<void> {
    const header = req.headers['concur-correlationid'];
    const record = (status: number) =>
      this.store.record({
        method: req.method,
        path: req.originalUrl.split('?')[0],
        correlationId: typeof header === 'string' ? header.slice(0, 128) : null,
        status,
      });
    const fault = this.faults.take(kind);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.reset) {
      this.logger.warn(`fault: dropping the connection of ${req.method} ${req.path}`);
      record(0);
      res.socket?.destroy();
      return;
    }
    let reply: Reply;
    if (fault?.status) {
      reply = {
        status: fault.status,
        headers: fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {},
        body: { errorId: 'sandboxFault', errorMessage: `Sandbox fault: answering ${fault.status}` },
      };
    } else {
      reply = await handle();
    }
    record(reply.status);
    res.status(reply.status);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.body === undefined) res.end();
    else res.json(reply.body);
  }

  private origin(req: Request): string {
    return this.serverAddress.isKnown() ? this.serverAddress.get() : `${req.protocol}://${req.get('host')}`;
  }
}
