import {
  BadRequestException,
  Controller,
  Get,
  HttpCode,
  HttpException,
  Post,
  Query,
  Render,
  Req,
  Res,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { readJsonBody } from './sandbox.body.js';
import { FaultInputError, SandboxFaults, parseFaultRequest, type FaultSwitch } from './sandbox.faults.js';
import { LANGUAGE, SandboxLaunch, SandboxLaunchError, single, type LaunchRequestQuery } from './sandbox.launch.js';
import { SandboxOAuth } from './sandbox.oauth.js';
import { buildSandboxPage, type SandboxPageView } from './sandbox-page.view.js';
import { SandboxStore, type SandboxState } from './sandbox.store.js';

/** A cross-site form cannot send application/json, so demanding it keeps other sites from posting here. */
function requireJson(req: Request): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new UnsupportedMediaTypeException('Send Content-Type: application/json');
}

/** The JSON body, whether the app's parsers read it already or not (the sandbox module works without them). */
async function jsonBodyOf(req: Request): Promise<unknown> {
  requireJson(req);
  const body = await readJsonBody(req);
  if (!body.ok) throw new HttpException(body.message, body.status);
  return body.value;
}

export interface SandboxControlState extends SandboxState {
  faults: FaultSwitch[];
  tokenTtlSeconds: number;
}

/** The sandbox's expense form page, its launch redirect, and the JSON controls for tests and demos. */
@Controller('sandbox')
export class SandboxPageController {
  constructor(
    private readonly store: SandboxStore,
    private readonly faults: SandboxFaults,
    private readonly launch: SandboxLaunch,
    private readonly oauth: SandboxOAuth,
  ) {}

  @Get()
  @Render('sandbox/index')
  page(@Query() query: { lang?: unknown; mobile?: unknown }): SandboxPageView & { layout: false } {
    const lang = single(query.lang);
    const user = { lang: lang !== undefined && LANGUAGE.test(lang) ? lang : 'en', mobile: single(query.mobile) === 'true' };
    return { layout: false, ...buildSandboxPage(this.store.state(), this.launch, user) };
  }

  /** What Concur does when the Launch URL button is clicked: a redirect to a freshly signed launch. */
  @Get('launch')
  redirectToLaunch(@Query() query: LaunchRequestQuery, @Res() res: Response): void {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    try {
      const url = this.launch.buildUrl(query);
      res.status(302).setHeader('Location', url);
      res.end();
    } catch (error) {
      if (!(error instanceof SandboxLaunchError)) throw error;
      res.status(error.status).type('text/plain').send(`Sandbox launch refused: ${error.message}\n`);
    }
  }

  @Get('api/state')
  state(): SandboxControlState {
    return { ...this.store.state(), faults: this.faults.pending(), tokenTtlSeconds: this.faults.tokenTtlSeconds };
  }

  @Post('api/faults')
  @HttpCode(200)
  async setFaults(@Req() req: Request): Promise<{ faults: FaultSwitch[]; tokenTtlSeconds: number }> {
    const body = await jsonBodyOf(req);
    try {
      this.faults.apply(parseFaultRequest(body));
    } catch (error) {
      if (error instanceof FaultInputError) throw new BadRequestException(error.message);
      throw error;
    }
    return { faults: this.faults.pending(), tokenTtlSeconds: this.faults.tokenTtlSeconds };
  }

  @Post('api/reset')
  @HttpCode(200)
  reset(@Req() req: Request): { reset: true } {
    requireJson(req);
    this.store.reset();
    this.faults.reset();
    this.oauth.reset();
    return { reset: true };
  }

  @Get('api/launch-url')
  launchUrl(@Query() query: LaunchRequestQuery): { url: string } {
    try {
      return { url: this.launch.buildUrl(query) };
    } catch (error) {
      if (error instanceof SandboxLaunchError) throw new HttpException(error.message, error.status);
      throw error;
    }
  }
}
