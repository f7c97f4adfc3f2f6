import { SignUpRequestSchema } from "../gen/gatehouse/v1/auth_pb.js";
import type { HttpHandler } from "../server/http-handler.ts";
import { csrfInput } from "../server/pages/csrf.ts";
import {
  errorSummary,
  type FieldSpec,
  FocusPlan,
  type FormErrors,
  field,
  hasErrors,
  NO_ERRORS,
  submitButton,
} from "../server/pages/form.ts";
import { html } from "../server/pages/html.ts";
import { type PageRequest, pageRoute } from "../server/pages/page-route.ts";
import { formErrorsFrom, retryAfterSeconds, statusOfError } from "./form-errors.ts";
import { type HostedPageDeps, requestInfo, spendRateLimit } from "./hosted-page-deps.ts";
import { checkAsRequest } from "./request-checks.ts";
import { returnToInput, returnToOf, signInHref, signInPrompt } from "./sign-in-link.ts";

export const SIGNUP_PATH = "/signup";

const SIGN_UP_RPC = "gatehouse.v1.AuthService/SignUp";

interface SignUpValues {
  readonly username: string;
  readonly email: string;
  readonly first_name: string;
  readonly last_name: string;
}

const EMPTY: SignUpValues = { username: "", email: "", first_name: "", last_name: "" };

/** The pattern's rule in words (protovalidate's own message quotes the regex). */
const USERNAME_RULE =
  "use 3 to 64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit";

/**
 * `/signup` (registered only when SIGNUP_ENABLED): the form for
 * AuthService.SignUp, held to the same request rules, the same rate limits
 * (SignUp's buckets) and the same domain call, so the page is no way around them.
 */
export function signUpPage(deps: HostedPageDeps): HttpHandler {
  const { shell } = deps;
  const fields = (values: SignUpValues): FieldSpec[] => [
    {
      name: "first_name",
      label: "First name",
      autocomplete: "given-name",
      value: values.first_name,
      maxLength: 128,
      autofocus: true,
    },
    {
      name: "last_name",
      label: "Last name",
      autocomplete: "family-name",
      value: values.last_name,
      maxLength: 128,
    },
    {
      name: "email",
      label: "Email address",
      type: "email",
      autocomplete: "email",
      inputMode: "email",
      value: values.email,
      maxLength: 254,
    },
    {
      name: "username",
      label: "Username",
      autocomplete: "username",
      value: values.username,
      hint: "You can sign in with it or with your email address.",
      maxLength: 64,
    },
    {
      name: "password",
      label: "Password",
      type: "password",
      autocomplete: "new-password",
      hint: deps.passwordPolicy.summary(),
      maxLength: 256,
    },
  ];

  async function form(
    page: PageRequest,
    values: SignUpValues,
    errors: FormErrors,
    returnTo: string | undefined,
    status = 200,
  ): Promise<void> {
    const token = await shell.csrf.issue(page.request, page.response);
    const specs = fields(values);
    const focus = new FocusPlan(
      errors,
      specs.map((spec) => spec.name),
    );
    const labels = new Map(specs.map((spec) => [spec.name, spec.label]));
    const [first, last, ...rest] = specs.map((spec) => field(spec, errors, focus));
    shell.send(page.request, page.response, {
      status,
      title: "Create your account",
      lede: `One account for everything ${shell.branding.productName} protects.`,
      body: html`${errorSummary(errors, labels)}
<form method="post" action="${SIGNUP_PATH}" novalidate>
${csrfInput(token)}${returnToInput(returnTo)}
<div class="row">${first}${last}</div>
${rest}
${submitButton("Create account")}
</form>`,
      after: signInPrompt("Already have an account?", returnTo),
    });
  }

  return pageRoute(shell, deps.logger, {
    get: (page) => form(page, EMPTY, NO_ERRORS, returnToOf(page.query)),
    post: async (page, submitted) => {
      const returnTo = returnToOf(submitted);
      const values: SignUpValues = {
        username: (submitted.get("username") ?? "").trim(),
        email: (submitted.get("email") ?? "").trim(),
        first_name: (submitted.get("first_name") ?? "").trim(),
        last_name: (submitted.get("last_name") ?? "").trim(),
      };
      const password = submitted.get("password") ?? "";
      const input = {
        username: values.username,
        email: values.email,
        password,
        firstName: values.first_name,
        lastName: values.last_name,
        middleName: "",
        phone: "",
      };
      const invalid = checkAsRequest(SignUpRequestSchema, input);
      if (hasErrors(invalid)) {
        const fieldsWithWords = new Map(invalid.fields);
        if (fieldsWithWords.has("username")) fieldsWithWords.set("username", USERNAME_RULE);
        // An empty field gets a request, not protovalidate's "must be at least 1 characters".
        for (const spec of fields(values)) {
          const empty =
            spec.name === "password" ? password === "" : values[spec.name as keyof SignUpValues] === "";
          if (fieldsWithWords.has(spec.name) && empty) {
            fieldsWithWords.set(spec.name, `enter your ${spec.label.toLowerCase()}`);
          }
        }
        return form(page, values, { fields: fieldsWithWords, form: [] }, returnTo, 400);
      }
      let result: { emailVerificationRequired: boolean };
      try {
        await spendRateLimit(deps, page, SIGN_UP_RPC, values.email);
        result = await deps.auth.signUp(input, requestInfo(deps, page));
      } catch (error) {
        const retry = retryAfterSeconds(error);
        if (retry !== undefined) page.response.setHeader("retry-after", String(retry));
        return form(page, values, formErrorsFrom(error), returnTo, statusOfError(error));
      }
      shell.send(page.request, page.response, {
        title: result.emailVerificationRequired ? "Check your mail" : "Your account is ready",
        body: result.emailVerificationRequired
          ? html`<div class="notice" role="status"><p>We sent a link to <strong>${values.email}</strong>. Open it to confirm your address, then sign in.</p></div>
<a class="button" href="${signInHref(returnTo)}">Go to sign-in</a>`
          : html`<div class="notice" role="status"><p>Welcome, ${values.first_name}. Your account <strong>${values.username}</strong> has been created.</p></div>
<a class="button" href="${signInHref(returnTo)}">Sign in</a>`,
      });
    },
  });
}
