/**
 * The app's screens as hash routes (`#/sensors`, `#/sensor/<id>` …): a bookmark or a reload
 * lands on the same screen, and the back button works, with no server routing (the service
 * worker serves one shell for every navigation).
 */
export type Route =
  | { readonly screen: 'sensors' }
  | { readonly screen: 'pair'; readonly simulated: boolean }
  | { readonly screen: 'live'; readonly deviceId: string }
  | { readonly screen: 'history'; readonly deviceId?: string }
  | { readonly screen: 'security' }
  | { readonly screen: 'settings' };

const DEVICE_ID = /^[0-9A-F]{16}$/;

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter((p) => p !== '');
  const [screen, arg] = parts;
  const id = arg?.toUpperCase();
  switch (screen) {
    case 'pair':
      return { screen: 'pair', simulated: query.split('&').includes('simulated') };
    case 'sensor':
      return id !== undefined && DEVICE_ID.test(id) ? { screen: 'live', deviceId: id } : { screen: 'sensors' };
    case 'history':
      return id !== undefined && DEVICE_ID.test(id) ? { screen: 'history', deviceId: id } : { screen: 'history' };
    case 'security':
      return { screen: 'security' };
    case 'settings':
      return { screen: 'settings' };
    default:
      return { screen: 'sensors' };
  }
}

export function routeHash(route: Route): string {
  switch (route.screen) {
    case 'live':
      return `#/sensor/${route.deviceId}`;
    case 'history':
      return route.deviceId !== undefined ? `#/history/${route.deviceId}` : '#/history';
    case 'pair':
      return route.simulated ? '#/pair?simulated' : '#/pair';
    default:
      return `#/${route.screen}`;
  }
}
