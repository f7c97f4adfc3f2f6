/**
 * @gatehouse/client: typed clients for Gatehouse, the WatchChanges consumer,
 * and auth middleware (Connect, Express, Fastify) that decides locally while
 * honouring revocations on every replica. The API's messages and descriptors
 * are in "@gatehouse/client/v1".
 */

export { type ChangeHandler, ChangeWatcher, type ChangeWatcherOptions } from "./change-watcher.ts";
export { gatehouseInterceptor, kGatehouseIdentity } from "./connect.ts";
export { type Credentials, credentialsInterceptor, type TokenRequester } from "./credentials.ts";
export { gatehouseExpress, type RequestWithGatehouse } from "./express.ts";
export { failoverTransport, type RetryOptions } from "./failover-transport.ts";
export { type FastifyReplyLike, type FastifyRequestLike, gatehouseFastify } from "./fastify.ts";
export {
  type AccessRequirement,
  type AuthDecision,
  type AuthStats,
  createGatehouseAuth,
  type GatehouseAuth,
  type GatehouseAuthOptions,
  type Principal,
} from "./gatehouse-auth.ts";
export {
  createGatehouseClient,
  type GatehouseClient,
  type GatehouseClientOptions,
} from "./gatehouse-client.ts";
export { type GatehouseIdentity, refusalResponse } from "./http-answers.ts";
