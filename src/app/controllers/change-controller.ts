/**
 * Re-renders its element when a service announces a `change` (vault state, sensor hub, shell),
 * for as long as the element is connected: the subscription's lifecycle is the element's.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class ChangeController implements ReactiveController {
  private target: EventTarget | undefined;
  private readonly onChange = (): void => this.host.requestUpdate();

  constructor(
    private readonly host: ReactiveControllerHost,
    /** Services are injected by context after construction: resolve them late. */
    private readonly source: () => EventTarget | undefined,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.attach();
  }

  /** Call after the service arrives (context) if it was not there at connection. */
  attach(): void {
    const target = this.source();
    if (target === this.target) return;
    this.target?.removeEventListener('change', this.onChange);
    this.target = target;
    this.target?.addEventListener('change', this.onChange);
  }

  hostUpdate(): void {
    this.attach();
  }

  hostDisconnected(): void {
    this.target?.removeEventListener('change', this.onChange);
    this.target = undefined;
  }
}
