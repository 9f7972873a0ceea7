import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Launch, LaunchEndpoint } from '../auth/launch.decorator.js';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import type { AcceptedLaunch } from '../auth/launch.types.js';
import { Meta, type RequestMeta } from '../common/request-meta.js';
import { RateLimit } from '../throttle/rate-limit.guard.js';
import { LaunchService } from './launch.service.js';
import { launchOrigin } from './launch-tokens.service.js';

/**
 * Concur's launch callouts. Paths are Concur's defaults; configured paths are mapped onto them
 * (app.setup.ts). The answer is a 303 to the session page, so a refresh never replays the signed URL.
 */
@Controller()
export class LaunchController {
  constructor(
    private readonly launches: LaunchService,
    private readonly sessions: LaunchSessionService,
  ) {}

  @Get('/concur/form/v1.0/get')
  @LaunchEndpoint(1)
  // Below @LaunchEndpoint: runs before SignatureGuard, so a refused launch keeps its nonce.
  @RateLimit('launch')
  v1(@Launch() launch: AcceptedLaunch, @Meta() meta: RequestMeta, @Req() req: Request, @Res() res: Response) {
    return this.start(launch, meta, req, res);
  }

  @Get('/launchexternalurl/v4/form')
  @LaunchEndpoint(4)
  @RateLimit('launch')
  v4(@Launch() launch: AcceptedLaunch, @Meta() meta: RequestMeta, @Req() req: Request, @Res() res: Response) {
    return this.start(launch, meta, req, res);
  }

  private async start(launch: AcceptedLaunch, meta: RequestMeta, req: Request, res: Response): Promise<void> {
    const started = await this.launches.start(launch, meta, launchOrigin(req.get('host')));
    res.cookie(this.sessions.cookieName(), started.cookieSecret, this.sessions.cookieOptions(started.session, req.secure));
    res.redirect(303, started.location);
  }
}
