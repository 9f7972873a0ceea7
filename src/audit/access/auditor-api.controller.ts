import { Controller, Get, UseGuards } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiCookieAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Auditor, AuditorGuard, type AuditorIdentity } from './auditor.guard.js';

export class AuditorDto {
  @ApiProperty({ example: 'jane.auditor' }) username: string;
  @ApiProperty({ enum: ['session', 'basic', 'header'], description: 'sign-in page session, HTTP Basic, or trusted proxy header' })
  via: AuditorIdentity['via'];
  @ApiProperty({ type: [String], description: "the trusted proxy's groups; empty otherwise" }) groups: string[];
}

/** Who the audit API takes the caller for: a quick check of credentials for scripts and tools. */
@ApiTags('audit')
@ApiBasicAuth()
@ApiCookieAuth()
@Controller('api/audit')
@UseGuards(AuditorGuard)
export class AuditorApiController {
  @Get('me')
  @ApiOperation({ summary: 'The signed-in auditor' })
  @ApiOkResponse({ type: AuditorDto })
  @ApiUnauthorizedResponse({ description: 'Not signed in, or wrong credentials (with a Basic challenge)' })
  @ApiForbiddenResponse({ description: 'Signed in through the proxy, but not in an auditor group' })
  @ApiTooManyRequestsResponse({ description: 'The user name is locked after too many failed sign-ins' })
  me(@Auditor() auditor: AuditorIdentity): AuditorDto {
    return { username: auditor.username, via: auditor.via, groups: auditor.groups };
  }
}
