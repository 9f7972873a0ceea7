import { Injectable } from '@nestjs/common';

/**
 * The address this server answers on, known once it listens. The sandbox uses it to build
 * item URLs and its OAuth base URL, and the host allow-list admits it while the sandbox is on.
 */
@Injectable()
export class ServerAddress {
  private origin?: string;

  /** e.g. http://127.0.0.1:3000 (no trailing slash). */
  set(origin: string): void {
    this.origin = origin.replace(/\/+$/, '');
  }

  get(): string {
    if (!this.origin) throw new Error('ServerAddress read before the server listens');
    return this.origin;
  }

  isKnown(): boolean {
    return this.origin !== undefined;
  }
}
