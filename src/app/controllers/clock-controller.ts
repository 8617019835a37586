/**
 * "Time since" needs the time: re-renders its element every `everyMs` while it is connected.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class ClockController implements ReactiveController {
  now = Date.now();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly everyMs = 1_000,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.timer = setInterval(() => {
      this.now = Date.now();
      this.host.requestUpdate();
    }, this.everyMs);
  }

  hostDisconnected(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
