import { create } from "@bufbuild/protobuf";
import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import {
  type CreateOidcClientResponse,
  type OidcClient,
  OidcClientType,
  type OidcGrantType,
  OidcGrantTypeListSchema,
  OidcScopeListSchema,
  OidcSigningAlgorithm,
  OidcTokenEndpointAuthMethod,
  RedirectUriListSchema,
  ServiceRegistryService,
} from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { describeError, errorWithin } from "../api/describe-error.ts";
import {
  backchannelLogoutUriRule,
  clientIdRule,
  listProblem,
  maxLength,
  nameRule,
  problems,
  redirectUriRule,
} from "../api/field-rules.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { LinesField, nonBlankLines } from "../components/lines-field.tsx";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { SelectField } from "../components/select-field.tsx";
import { TextField } from "../components/text-field.tsx";
import {
  authMethodsFor,
  CLIENT_TYPES,
  GRANT_TYPES,
  SCOPES,
  SIGNING_ALGORITHMS,
} from "./oidc-client-labels.ts";

const DEFAULT_GRANTS = GRANT_TYPES.slice(0, 2).map(([grant]) => grant);
const DEFAULT_SCOPES = ["openid", "profile", "email"];

/**
 * Registers an OIDC client (no `client`) or edits one: every field CreateOidcClient / UpdateOidcClient
 * take. The type is fixed once created; a confidential client's secret comes back once, to `onCreated`.
 */
export function OidcClientForm(props: {
  client?: OidcClient;
  writable: boolean;
  onCreated?: (response: CreateOidcClientResponse) => void;
}) {
  const existing = props.client;
  const invalidate = useInvalidate();
  const [clientId, setClientId] = useState(existing?.clientId ?? "");
  const [name, setName] = useState(existing?.name ?? "");
  const [type, setType] = useState(existing?.type ?? OidcClientType.CONFIDENTIAL);
  const [redirectUris, setRedirectUris] = useState<string[]>(existing?.redirectUris ?? []);
  const [logoutUris, setLogoutUris] = useState<string[]>(existing?.postLogoutRedirectUris ?? []);
  const [grantTypes, setGrantTypes] = useState<OidcGrantType[]>(existing?.grantTypes ?? DEFAULT_GRANTS);
  const [scopes, setScopes] = useState<string[]>(existing?.scopes ?? DEFAULT_SCOPES);
  const [firstParty, setFirstParty] = useState(existing?.firstParty ?? false);
  const [backchannel, setBackchannel] = useState(existing?.backchannelLogoutUri ?? "");
  const [algorithm, setAlgorithm] = useState(existing?.idTokenSigningAlg ?? OidcSigningAlgorithm.RS256);
  const [authMethod, setAuthMethod] = useState(
    existing?.tokenEndpointAuthMethod ?? OidcTokenEndpointAuthMethod.CLIENT_SECRET_BASIC,
  );
  const [jwks, setJwks] = useState(existing?.jwks ?? "");
  const [local, setLocal] = useState<Map<string, string>>(new Map());
  const [saved, setSaved] = useState(false);
  const done = async () => invalidate(ServiceRegistryService);
  const createClient = useMutation(ServiceRegistryService.method.createOidcClient, {
    onSuccess: async (response) => {
      await done();
      props.onCreated?.(response);
    },
  });
  const updateClient = useMutation(ServiceRegistryService.method.updateOidcClient, {
    onSuccess: async () => {
      setSaved(true);
      await done();
    },
  });
  const error = createClient.error ?? updateClient.error;
  const errors = local.size > 0 || error === null ? local : describeError(error).fields;
  const fieldError = (path: string) => errorWithin(errors, path);
  const toggle = <T,>(list: readonly T[], item: T, on: boolean): T[] =>
    on ? [...list, item] : list.filter((x) => x !== item);
  const authMethods = authMethodsFor(type);

  return (
    <form
      noValidate
      aria-label={existing === undefined ? "New OIDC client" : `Edit ${existing.clientId}`}
      onSubmit={(event) => {
        event.preventDefault();
        setSaved(false);
        const redirects = nonBlankLines(redirectUris);
        const logouts = nonBlankLines(logoutUris);
        const found = problems({
          client_id: existing === undefined ? clientIdRule(clientId) : undefined,
          name: nameRule(name),
          redirect_uris: listProblem(redirects, redirectUriRule, 32),
          post_logout_redirect_uris: listProblem(logouts, redirectUriRule, 32),
          grant_types: grantTypes.length === 0 ? "choose at least one grant type" : undefined,
          backchannel_logout_uri: backchannelLogoutUriRule(backchannel),
          jwks: maxLength(16384)(jwks),
        });
        setLocal(found);
        if (found.size > 0) return;
        const lists = {
          redirectUris: create(RedirectUriListSchema, { uris: redirects }),
          postLogoutRedirectUris: create(RedirectUriListSchema, { uris: logouts }),
          grantTypes: create(OidcGrantTypeListSchema, { grantTypes }),
          scopes: create(OidcScopeListSchema, { scopes }),
        };
        const settings = {
          name,
          firstParty,
          backchannelLogoutUri: backchannel,
          idTokenSigningAlg: algorithm,
          tokenEndpointAuthMethod: authMethod,
          jwks,
        };
        if (existing === undefined) createClient.mutate({ clientId, type, ...lists, ...settings });
        else updateClient.mutate({ id: existing.id, ...lists, ...settings });
      }}
    >
      <fieldset className="plain" disabled={!props.writable}>
        <legend className="visually-hidden">Client settings</legend>
        <div className="form-grid">
          <TextField
            label="Client id"
            value={clientId}
            onChange={setClientId}
            readOnly={existing !== undefined}
            hint={existing === undefined ? "Empty: one is generated" : undefined}
            error={errors.get("client_id")}
          />
          <TextField label="Name" value={name} onChange={setName} error={errors.get("name")} />
          <SelectField
            label="Type"
            value={String(type)}
            disabled={existing !== undefined}
            options={CLIENT_TYPES.map(([value, label]) => ({ value: String(value), label }))}
            onChange={(value) => {
              const next = Number(value) as OidcClientType;
              setType(next);
              setAuthMethod(authMethodsFor(next)[0]![0]);
            }}
            error={errors.get("type")}
          />
          <SelectField
            label="Token endpoint authentication"
            value={String(authMethod)}
            options={authMethods.map(([value, label]) => ({ value: String(value), label }))}
            onChange={(value) => setAuthMethod(Number(value) as OidcTokenEndpointAuthMethod)}
            error={errors.get("token_endpoint_auth_method")}
          />
        </div>
        <div className="form-grid">
          <LinesField
            label="Redirect URIs"
            lines={redirectUris}
            onChange={setRedirectUris}
            hint="One per line, exact: https, or http on localhost; no fragment"
            error={fieldError("redirect_uris")}
          />
          <LinesField
            label="Post-logout redirect URIs"
            lines={logoutUris}
            onChange={setLogoutUris}
            hint="Where end-session may send the browser back to"
            error={fieldError("post_logout_redirect_uris")}
          />
        </div>
        <div className="form-grid">
          <fieldset className="checkbox-list">
            <legend>Grant types</legend>
            {GRANT_TYPES.map(([grant, label]) => (
              <label className="checkbox" key={grant}>
                <input
                  type="checkbox"
                  checked={grantTypes.includes(grant)}
                  onChange={(e) => setGrantTypes(toggle(grantTypes, grant, e.target.checked))}
                />
                <code>{label}</code>
              </label>
            ))}
            {fieldError("grant_types") === undefined ? null : (
              <p className="field-error">{fieldError("grant_types")}</p>
            )}
          </fieldset>
          <fieldset className="checkbox-list">
            <legend>Scopes</legend>
            {SCOPES.map((scope) => (
              <label className="checkbox" key={scope}>
                <input
                  type="checkbox"
                  checked={scopes.includes(scope)}
                  onChange={(e) => setScopes(toggle(scopes, scope, e.target.checked))}
                />
                <code>{scope}</code>
              </label>
            ))}
          </fieldset>
        </div>
        <div className="form-grid">
          <TextField
            label="Back-channel logout URI"
            value={backchannel}
            onChange={setBackchannel}
            hint="OIDC Back-Channel Logout; empty for none"
            error={errors.get("backchannel_logout_uri")}
          />
          <SelectField
            label="ID token signing algorithm"
            value={String(algorithm)}
            options={SIGNING_ALGORITHMS.map(([value, label]) => ({ value: String(value), label }))}
            onChange={(value) => setAlgorithm(Number(value) as OidcSigningAlgorithm)}
            error={errors.get("id_token_signing_alg")}
          />
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={firstParty} onChange={(e) => setFirstParty(e.target.checked)} />
          <span>First party (no consent page)</span>
        </label>
        {authMethod === OidcTokenEndpointAuthMethod.PRIVATE_KEY_JWT ? (
          <LinesField
            label="JWK Set (JSON)"
            lines={jwks.split("\n")}
            onChange={(lines) => setJwks(lines.join("\n"))}
            rows={6}
            hint="The client's public keys for private_key_jwt"
            error={errors.get("jwks")}
          />
        ) : null}
      </fieldset>
      {error === null ? null : <ErrorState error={error} title="The client was not saved" />}
      {saved ? <Notice>Saved.</Notice> : null}
      {props.writable ? (
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={createClient.isPending || updateClient.isPending}>
            {existing === undefined ? "Register client" : "Save client"}
          </Button>
        </div>
      ) : null}
    </form>
  );
}
