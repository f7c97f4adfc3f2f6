// panva's oidc-provider with only what the benchmark needs: one confidential client
// (client_credentials), opaque access tokens in the default in-memory adapter, and the
// introspection endpoint (RFC 7662). Prints "listening <port>" and
// "token <access token>" once ready. Plain JS in its own package, so it runs without Gatehouse's
// dependencies or build.
import http from "node:http";
import Provider from "oidc-provider";

const CLIENT_ID = "bench-introspector";
const CLIENT_SECRET = "bench-introspector-secret";

const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
    },
  ],
  features: {
    introspection: { enabled: true },
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
  },
  // Tokens outlive the benchmark.
  ttl: { ClientCredentials: 3600 },
});
server.on("request", provider.callback());

const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64")}`;
const tokenResponse = await fetch(`${issuer}/token`, {
  method: "POST",
  headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ grant_type: "client_credentials" }),
});
const { access_token: token } = await tokenResponse.json();
if (typeof token !== "string") throw new Error(`no token: ${tokenResponse.status}`);
process.stdout.write(`token ${token}\nbasic ${basic}\nlistening ${port}\n`);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
