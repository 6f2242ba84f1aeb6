/**
 * Parks the relay on the batch it has just read, before it emits anything (the relay's
 * `beforeEmit` hook), until the test lets it go: for tests of what must not wait for the
 * relay (out-of-band and transient emits) and of what the relay reads at emit time.
 */
import { deferred, type Deferred } from './deferred.js';

export class RelayParking {
  private current: { reached: Deferred; release: Deferred } | null = null;

  /** The relay hook (GatewayOptions.hooks.relay.beforeEmit). */
  readonly beforeEmit = async (): Promise<void> => {
    const park = this.current;
    if (!park) return;
    park.reached.resolve();
    await park.release.promise;
  };

  /** From now on the relay parks; `reached` resolves once it has. */
  park(): { reached: Promise<void>; release(): void } {
    const park = { reached: deferred(), release: deferred() };
    this.current = park;
    return {
      reached: park.reached.promise,
      release: () => {
        if (this.current === park) this.current = null;
        park.release.resolve();
      },
    };
  }

  /** Lets a parked relay go and parks no more (clean-up after a failed test). */
  releaseAll(): void {
    this.current?.release.resolve();
    this.current = null;
  }
}
