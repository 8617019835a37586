/**
 * Postpones auto-lock while someone is using the app (docs/vault.md §1.5): any pointer or key
 * input on the page counts, for as long as the host is connected.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class ActivityController implements ReactiveController {
  private readonly onInput = (): void => this.touch();

  constructor(
    host: ReactiveControllerHost,
    private readonly touch: () => void,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    addEventListener('pointerdown', this.onInput, { passive: true, capture: true });
    addEventListener('keydown', this.onInput, { passive: true, capture: true });
  }

  hostDisconnected(): void {
    removeEventListener('pointerdown', this.onInput, { capture: true });
    removeEventListener('keydown', this.onInput, { capture: true });
  }
}
