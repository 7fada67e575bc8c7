/**
 * The administration UI (`admin/`): a web app to see and steer a cluster, served by
 * `cranberries admin` (a process of its own over ZooKeeper, wired in `composition/admin-server.ts`) and mounted at
 * `/ui` by `cranberries serve` and `cranberries gateway`. The browser code lives in `ui/` (built by
 * Vite into `dist/ui`); this folder is the server side: the live feed of the store and the routes.
 */
import type { FastifyPluginAsync } from 'fastify';
import { adminUiRoutes } from './admin-ui-routes.js';
import { ClusterFeed, type ClusterFeedOptions } from './cluster-feed.js';

export { ClusterFeed, differences, type ClusterEvent, type ClusterFeedOptions, type ComponentHealth, type Overview, type EventKind } from './cluster-feed.js';
export { adminUiRoutes, DEFAULT_UI_ROOT, type AdminUiOptions } from './admin-ui-routes.js';

/** The UI plugin over a store: a feed of it plus the routes (the feed starts with the app, stops with it). */
export function adminUi(options: ClusterFeedOptions & { readonly metricsText?: () => Promise<string>; readonly uiRoot?: string }): FastifyPluginAsync {
  return adminUiRoutes({ feed: new ClusterFeed(options), metricsText: options.metricsText, uiRoot: options.uiRoot });
}
