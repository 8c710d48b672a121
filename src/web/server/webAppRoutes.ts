import type { ExtraRoutes, GatewayRouteContext } from "../../gateway/startGateway.ts";
import { createWebRoutes } from "./createWebRoutes.ts";

/**
 * The web app on a gateway: what a composition root (`gotong up`, `gotong gateway start --web`)
 * passes as `startGateway({ extraRoutes })`. The page and its JSON routes use the gateway's own
 * store, router and channels; on a local devnet the page also gets the gateway key's wallet.
 *
 * @example await startGateway({ home, deployment, privateKey, logger, extraRoutes: webAppRoutes });
 */
export function webAppRoutes(gateway: GatewayRouteContext): ExtraRoutes {
  return createWebRoutes({ ...gateway, logger: gateway.logger.child("web") }).handle;
}
