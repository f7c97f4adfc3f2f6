import { type Html, html } from "../server/pages/html.ts";
import { safeReturnTo, withReturnTo } from "../server/pages/return-to.ts";

/** The OpenID Provider's sign-in page (served by the oidc-core pages). */
export const SIGN_IN_PATH = "/signin";

/** The return_to a page was opened with, if it stays on our origin. */
export const returnToOf = (values: URLSearchParams): string | undefined =>
  safeReturnTo(values.get("return_to"));

export const signInHref = (returnTo: string | undefined): string => withReturnTo(SIGN_IN_PATH, returnTo);

export const signInPrompt = (question: string, returnTo: string | undefined): Html =>
  html`<p>${question} <a href="${signInHref(returnTo)}">Sign in</a></p>`;

/** A hidden field carrying return_to through a POST (only a safe one). */
export const returnToInput = (returnTo: string | undefined): Html =>
  returnTo === undefined ? html`` : html`<input type="hidden" name="return_to" value="${returnTo}">`;
