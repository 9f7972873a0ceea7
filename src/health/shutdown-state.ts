import { Injectable } from '@nestjs/common';

/** Whether the process has been told to stop. Readiness reports not-ready from that moment on. */
@Injectable()
export class ShutdownState {
  private since?: number;

  begin(): void {
    this.since ??= Date.now();
  }

  get shuttingDown(): boolean {
    return this.since !== undefined;
  }
}
