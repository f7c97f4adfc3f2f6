import { create } from "@bufbuild/protobuf";
import type {
  OidcClient as DomainClient,
  OidcGrantType as DomainGrant,
  OidcClientAuthMethod,
} from "../../domain/oidc/oidc-client.ts";
import {
  type OidcClient,
  OidcClientSchema,
  OidcClientType,
  OidcGrantType,
  OidcSigningAlgorithm,
  OidcTokenEndpointAuthMethod,
} from "../../gen/gatehouse/v1/service_registry_pb.js";
import { toTimestamp } from "./timestamps.ts";

const GRANTS: ReadonlyArray<[DomainGrant, OidcGrantType]> = [
  ["authorization_code", OidcGrantType.AUTHORIZATION_CODE],
  ["refresh_token", OidcGrantType.REFRESH_TOKEN],
  ["client_credentials", OidcGrantType.CLIENT_CREDENTIALS],
];

const METHODS: ReadonlyArray<[OidcClientAuthMethod, OidcTokenEndpointAuthMethod]> = [
  ["none", OidcTokenEndpointAuthMethod.NONE],
  ["client_secret_basic", OidcTokenEndpointAuthMethod.CLIENT_SECRET_BASIC],
  ["client_secret_post", OidcTokenEndpointAuthMethod.CLIENT_SECRET_POST],
  ["private_key_jwt", OidcTokenEndpointAuthMethod.PRIVATE_KEY_JWT],
];

export const clientTypeFromProto = (type: OidcClientType): DomainClient["type"] =>
  type === OidcClientType.PUBLIC ? "public" : "confidential";

/** Undefined for an empty list (the proto's "leave as is" / "default"). */
export const grantTypesFromProto = (
  grants: readonly OidcGrantType[] | undefined,
): DomainGrant[] | undefined =>
  grants?.map((grant) => GRANTS.find(([, proto]) => proto === grant)?.[0] ?? "authorization_code");

export const signingAlgFromProto = (
  alg: OidcSigningAlgorithm | undefined,
): DomainClient["idTokenSigningAlg"] | undefined =>
  alg === OidcSigningAlgorithm.ES256 ? "ES256" : alg === OidcSigningAlgorithm.RS256 ? "RS256" : undefined;

export const authMethodFromProto = (
  method: OidcTokenEndpointAuthMethod | undefined,
): OidcClientAuthMethod | undefined => METHODS.find(([, proto]) => proto === method)?.[0];

export function oidcClientToProto(client: DomainClient): OidcClient {
  return create(OidcClientSchema, {
    id: client.id,
    clientId: client.clientId,
    name: client.name,
    type: client.type === "public" ? OidcClientType.PUBLIC : OidcClientType.CONFIDENTIAL,
    redirectUris: [...client.redirectUris],
    postLogoutRedirectUris: [...client.postLogoutRedirectUris],
    grantTypes: client.grantTypes.map((grant) => GRANTS.find(([domain]) => domain === grant)![1]),
    scopes: [...client.scopes],
    firstParty: client.firstParty,
    backchannelLogoutUri: client.backchannelLogoutUri,
    idTokenSigningAlg:
      client.idTokenSigningAlg === "ES256" ? OidcSigningAlgorithm.ES256 : OidcSigningAlgorithm.RS256,
    tokenEndpointAuthMethod: METHODS.find(([domain]) => domain === client.tokenEndpointAuthMethod)![1],
    jwks: client.jwks,
    disabled: client.disabled,
    creationDate: toTimestamp(client.createdAt),
    changeDate: toTimestamp(client.updatedAt),
    secretRotateDate: toTimestamp(client.secretRotatedAt),
  });
}
