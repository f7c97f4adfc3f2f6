// An API service protected by Gatehouse: `node examples/express-service.ts`.
// Its own identity is a service account with a grant on the service (so it may watch changes).

import {
  createGatehouseAuth,
  createGatehouseClient,
  gatehouseExpress,
  type RequestWithGatehouse,
} from "@gatehouse/client";
import express from "express";

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
  service: "orders", // the service's slug in Gatehouse's registry
  requiredRole: "viewer",
});
await auth.start();

const app = express();
app.get("/orders", gatehouseExpress(auth), (request, response) => {
  const { principal, role } = (request as RequestWithGatehouse).gatehouse!;
  response.json({ user: principal.username, role, orders: [] });
});
app.post(
  "/orders",
  gatehouseExpress(auth, { service: "orders", requiredRole: "editor" }),
  (_request, response) => {
    response.status(201).json({ created: true });
  },
);
app.listen(3000, () => console.log("orders on http://127.0.0.1:3000"));
