/**
 * The current screen from the location hash (model/routes.ts), kept up to date on `hashchange`.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { parseRoute, routeHash, type Route } from '../model/routes.js';

export class RouteController implements ReactiveController {
  route: Route = parseRoute(location.hash);
  private readonly onHash = (): void => {
    this.route = parseRoute(location.hash);
    this.host.requestUpdate();
  };

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {
    addEventListener('hashchange', this.onHash);
    this.onHash();
  }

  hostDisconnected(): void {
    removeEventListener('hashchange', this.onHash);
  }

  go(route: Route): void {
    location.hash = routeHash(route);
  }
}
