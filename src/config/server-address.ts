import { Injectable } from '@nestjs/common';

/** The two names of the loopback interface; /etc/hosts maps `localhost` to 127.0.0.1, so both reach one listener. */
const OTHER_LOOPBACK_NAME: Readonly<Record<string, string>> = { '127.0.0.1': 'localhost', localhost: '127.0.0.1' };

/**
 * The address this server answers on, known once it listens. The sandbox uses it to build
 * item URLs and its OAuth base URL, and the host allow-list admits it while the sandbox is on.
 */
@Injectable()
export class ServerAddress {
  private origin?: string;
  /** Another replica's origin whose sandbox plays Concur for this one (sandbox.concurOrigin). */
  private concurOrigin?: string;

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

  /** Replicas that should talk to one stand-in Concur name the origin of the one that serves it. */
  useSandboxOf(origin: string): void {
    this.concurOrigin = origin.replace(/\/+$/, '');
  }

  /** Where the sandbox that plays Concur for this server answers: another replica's, or this server. */
  sandboxOrigin(): string {
    return this.concurOrigin ?? this.get();
  }

  /**
   * The sandbox's second "data center": this server under its other loopback name, same scheme and
   * port (http://localhost:3000 when the server is http://127.0.0.1:3000, and the reverse). The
   * sandbox's tokens live there, so a client that ignores a token's geolocation fails as it would
   * with Concur. Undefined before the server listens, or when its host is neither loopback name.
   */
  sandboxGeoOrigin(): string | undefined {
    if (!this.origin) return undefined;
    const url = new URL(this.sandboxOrigin());
    const other = OTHER_LOOPBACK_NAME[url.hostname];
    if (!other) return undefined;
    url.hostname = other;
    return url.origin;
  }
}
