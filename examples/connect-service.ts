// The same service over Connect/gRPC: `node examples/connect-service.ts`.
// Serves grpc.health.v1.Health here for brevity; use your own service's descriptor.
import { createServer } from "node:http2";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  createGatehouseAuth,
  createGatehouseClient,
  gatehouseInterceptor,
  kGatehouseIdentity,
} from "@gatehouse/client";
import {
  Health,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../src/gen/health/v1/health_pb.js";

const gatehouseUrl = process.env.GATEHOUSE_URL ?? "http://127.0.0.1:8080";
const client = createGatehouseClient({
  baseUrl: gatehouseUrl,
  transport: "grpc",
  credentials: {
    type: "client_credentials",
    clientId: process.env.GATEHOUSE_CLIENT_ID ?? "",
    clientSecret: process.env.GATEHOUSE_CLIENT_SECRET ?? "",
  },
});
const auth = createGatehouseAuth({
  client,
  issuer: process.env.GATEHOUSE_ISSUER ?? gatehouseUrl,
  jwksUrl: `${gatehouseUrl}/.well-known/jwks.json`,
  service: "orders",
  requiredRole: "viewer",
});
await auth.start();

const handler = connectNodeAdapter({
  interceptors: [gatehouseInterceptor(auth)], // UNAUTHENTICATED / PERMISSION_DENIED with Gatehouse's reason
  routes: (router) =>
    router.service(Health, {
      check(_request, context) {
        const identity = context.values.get(kGatehouseIdentity)!;
        console.log(`check by ${identity.principal.subjectId} (${identity.role})`);
        return create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING });
      },
    }),
});
createServer(handler).listen(3001, () => console.log("orders (gRPC, Connect) on http://127.0.0.1:3001"));
