import type { ServiceImpl } from "@connectrpc/connect";
import type { GrantService } from "../../domain/grants/grant-service.ts";
import type { OidcClientRegistry } from "../../domain/oidc/oidc-client-registry.ts";
import type { ServiceAccountAdmin } from "../../domain/registry/service-account-admin.ts";
import type { ServiceRegistry } from "../../domain/registry/service-registry.ts";
import type { ServiceRegistryService } from "../../gen/gatehouse/v1/service_registry_pb.js";
import { actorOf } from "../context.ts";
import {
  authMethodFromProto,
  clientTypeFromProto,
  grantTypesFromProto,
  oidcClientToProto,
  signingAlgFromProto,
} from "../mappers/oidc-client-mapper.ts";
import { serviceAccountToProto } from "../mappers/service-account-mapper.ts";
import { serviceStatusFromProto, serviceToProto } from "../mappers/service-mapper.ts";

/** ServiceRegistryService: services, service accounts and their grants, OIDC clients. */
export function createRegistryHandler(deps: {
  registry: ServiceRegistry;
  accounts: ServiceAccountAdmin;
  grants: GrantService;
  oidcClients: OidcClientRegistry;
}): ServiceImpl<typeof ServiceRegistryService> {
  const { registry, accounts, grants, oidcClients } = deps;
  return {
    async createService(request, context) {
      const service = await registry.create(await actorOf(context), {
        slug: request.slug,
        displayName: request.displayName,
        description: request.description,
        audience: request.audience,
        roles: request.roles?.roles,
        hosts: request.hosts?.hosts,
      });
      return { service: serviceToProto(service) };
    },
    async getService(request, context) {
      const key = request.key.case === "slug" ? { slug: request.key.value } : { id: request.key.value ?? "" };
      return { service: serviceToProto(await registry.get(await actorOf(context), key)) };
    },
    async listServices(request, context) {
      const page = await registry.list(await actorOf(context), {
        pageSize: request.pageSize,
        pageToken: request.pageToken,
        status: serviceStatusFromProto(request.status),
      });
      return { services: page.items.map(serviceToProto), nextPageToken: page.nextPageToken };
    },
    async updateService(request, context) {
      const service = await registry.update(await actorOf(context), request.serviceId, {
        displayName: request.displayName,
        description: request.description,
        audience: request.audience,
        status: serviceStatusFromProto(request.status),
        roles: request.roles?.roles,
        hosts: request.hosts?.hosts,
      });
      return { service: serviceToProto(service) };
    },
    async deleteService(request, context) {
      await registry.delete(await actorOf(context), request.serviceId);
      return {};
    },
    async createServiceAccount(request, context) {
      const created = await accounts.create(await actorOf(context), {
        name: request.name,
        description: request.description,
        grants: request.grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
      });
      return { serviceAccount: serviceAccountToProto(created), clientSecret: created.clientSecret };
    },
    async getServiceAccount(request, context) {
      return {
        serviceAccount: serviceAccountToProto(
          await accounts.get(await actorOf(context), request.serviceAccountId),
        ),
      };
    },
    async listServiceAccounts(request, context) {
      const page = await accounts.list(await actorOf(context), {
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { serviceAccounts: page.items.map(serviceAccountToProto), nextPageToken: page.nextPageToken };
    },
    async updateServiceAccount(request, context) {
      const updated = await accounts.update(await actorOf(context), request.serviceAccountId, {
        description: request.description,
        disabled: request.disabled,
      });
      return { serviceAccount: serviceAccountToProto(updated) };
    },
    async deleteServiceAccount(request, context) {
      await accounts.delete(await actorOf(context), request.serviceAccountId);
      return {};
    },
    async rotateServiceAccountSecret(request, context) {
      return {
        clientSecret: await accounts.rotateSecret(await actorOf(context), request.serviceAccountId, {
          keepIssuedTokens: request.keepIssuedTokens,
        }),
      };
    },
    async setServiceAccountGrants(request, context) {
      const result = await grants.replace(
        await actorOf(context),
        { kind: "service_account", id: request.serviceAccountId },
        request.grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
      );
      return { grants: result };
    },
    async createOidcClient(request, context) {
      const created = await oidcClients.create(await actorOf(context), {
        clientId: request.clientId,
        name: request.name,
        type: clientTypeFromProto(request.type),
        redirectUris: request.redirectUris?.uris,
        postLogoutRedirectUris: request.postLogoutRedirectUris?.uris,
        grantTypes: grantTypesFromProto(request.grantTypes?.grantTypes),
        scopes: request.scopes?.scopes,
        firstParty: request.firstParty,
        backchannelLogoutUri: request.backchannelLogoutUri,
        idTokenSigningAlg: signingAlgFromProto(request.idTokenSigningAlg),
        tokenEndpointAuthMethod: authMethodFromProto(request.tokenEndpointAuthMethod),
        jwks: request.jwks,
      });
      return { client: oidcClientToProto(created.client), clientSecret: created.clientSecret };
    },
    async getOidcClient(request, context) {
      const key =
        request.key.case === "clientId" ? { clientId: request.key.value } : { id: request.key.value ?? "" };
      return { client: oidcClientToProto(await oidcClients.get(await actorOf(context), key)) };
    },
    async listOidcClients(request, context) {
      const page = await oidcClients.list(await actorOf(context), {
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { clients: page.items.map(oidcClientToProto), nextPageToken: page.nextPageToken };
    },
    async updateOidcClient(request, context) {
      const client = await oidcClients.update(await actorOf(context), request.id, {
        name: request.name,
        redirectUris: request.redirectUris?.uris,
        postLogoutRedirectUris: request.postLogoutRedirectUris?.uris,
        grantTypes: grantTypesFromProto(request.grantTypes?.grantTypes),
        scopes: request.scopes?.scopes,
        firstParty: request.firstParty,
        backchannelLogoutUri: request.backchannelLogoutUri,
        idTokenSigningAlg: signingAlgFromProto(request.idTokenSigningAlg),
        tokenEndpointAuthMethod: authMethodFromProto(request.tokenEndpointAuthMethod),
        jwks: request.jwks,
        disabled: request.disabled,
      });
      return { client: oidcClientToProto(client) };
    },
    async rotateOidcClientSecret(request, context) {
      return { clientSecret: await oidcClients.rotateSecret(await actorOf(context), request.id) };
    },
    async deleteOidcClient(request, context) {
      await oidcClients.delete(await actorOf(context), request.id);
      return {};
    },
  };
}
