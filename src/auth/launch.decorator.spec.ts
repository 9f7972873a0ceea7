import { describe, expect, it } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { GUARDS_METADATA, HEADERS_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { VerifiedLaunch } from './launch.types.js';
import { LAUNCH_VERSION, Launch, LaunchEndpoint } from './launch.decorator.js';
import { SignatureGuard } from './signature.guard.js';

@Controller()
class Routes {
  @Get('v4') @LaunchEndpoint(4) v4(@Launch() launch: VerifiedLaunch): VerifiedLaunch {
    return launch;
  }
}

describe(LaunchEndpoint.name, () => {
  it('records the version, the guard and no-store caching on the route', () => {
    const handler = Routes.prototype.v4;
    expect(Reflect.getMetadata(LAUNCH_VERSION, handler)).toBe(4);
    expect(Reflect.getMetadata(GUARDS_METADATA, handler)).toEqual([SignatureGuard]);
    expect(Reflect.getMetadata(HEADERS_METADATA, handler)).toEqual(
      expect.arrayContaining([
        { name: 'Cache-Control', value: 'no-store' },
        { name: 'Referrer-Policy', value: 'no-referrer' },
      ]),
    );
  });
});

describe('Launch', () => {
  const factoryOf = () => {
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Routes, 'v4') as Record<string, { factory: Function }>;
    return Object.values(args)[0].factory as (data: unknown, ctx: ExecutionContextHost) => unknown;
  };

  it('returns req.launch', () => {
    const launch = { version: 4, nonce: 'n' } as VerifiedLaunch;
    expect(factoryOf()(undefined, new ExecutionContextHost([{ launch }]))).toBe(launch);
  });

  it('fails loudly when no guard verified the launch', () => {
    expect(() => factoryOf()(undefined, new ExecutionContextHost([{}]))).toThrow(/LaunchEndpoint/);
  });
});
