import { applyDecorators, createParamDecorator, type ExecutionContext, Header, SetMetadata, UseGuards } from '@nestjs/common';
import type { AcceptedLaunch, LaunchVersion } from './launch.types.js';
import { LAUNCH_VERSION, type LaunchRequest, SignatureGuard } from './signature.guard.js';

export { LAUNCH_VERSION } from './signature.guard.js';

/** A Concur launch route of the given version: signature, input and nonce checked before the handler runs. */
export function LaunchEndpoint(version: LaunchVersion) {
  return applyDecorators(
    SetMetadata(LAUNCH_VERSION, version),
    UseGuards(SignatureGuard),
    Header('Cache-Control', 'no-store'),
    // The signed URL must not leak to other sites through the Referer header.
    Header('Referrer-Policy', 'no-referrer'),
  );
}

/** Parameter decorator: the launch SignatureGuard verified. */
export const Launch = createParamDecorator((_: unknown, ctx: ExecutionContext): AcceptedLaunch => {
  const launch = ctx.switchToHttp().getRequest<LaunchRequest>().launch;
  if (!launch) throw new Error('@Launch() used on a route without @LaunchEndpoint()');
  return launch;
});
