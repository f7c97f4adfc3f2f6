import type { MailMessage } from "../ports/mailer.ts";

const withToken = (baseUrl: string, token: string): string => {
  const url = new URL(baseUrl);
  url.searchParams.set("token", token);
  return url.toString();
};

export function passwordResetMail(input: {
  to: string;
  userId: string;
  resetUrl: string;
  token: string;
  ttlMinutes: number;
}): MailMessage {
  return {
    to: input.to,
    userId: input.userId,
    purpose: "password_reset",
    subject: "Reset your Gatehouse password",
    text: [
      "Someone (hopefully you) asked to reset the password of your Gatehouse account.",
      "",
      `To choose a new password, open this link within ${input.ttlMinutes} minutes:`,
      withToken(input.resetUrl, input.token),
      "",
      `Or enter this reset code: ${input.token}`,
      "",
      "The link works once. If you did not ask for it, ignore this mail: your password stays as it is.",
    ].join("\n"),
  };
}

/** A new account without a password: the link sets the first one (a password-reset token). */
export function invitationMail(input: {
  to: string;
  userId: string;
  resetUrl: string;
  token: string;
  ttlHours: number;
}): MailMessage {
  return {
    to: input.to,
    userId: input.userId,
    purpose: "invitation",
    subject: "Your Gatehouse account: choose a password",
    text: [
      "An administrator created a Gatehouse account for you.",
      "",
      `To choose its password, open this link within ${input.ttlHours} hours:`,
      withToken(input.resetUrl, input.token),
      "",
      `Or enter this reset code: ${input.token}`,
      "",
      "The link works once. If you did not expect this mail, ignore it.",
    ].join("\n"),
  };
}

export function emailVerificationMail(input: {
  to: string;
  userId: string;
  verifyUrl: string;
  token: string;
  ttlMinutes: number;
}): MailMessage {
  return {
    to: input.to,
    userId: input.userId,
    purpose: "email_verification",
    subject: "Confirm your email address for Gatehouse",
    text: [
      "Welcome to Gatehouse. To confirm this email address, open this link",
      `within ${input.ttlMinutes} minutes:`,
      withToken(input.verifyUrl, input.token),
      "",
      `Or enter this code: ${input.token}`,
    ].join("\n"),
  };
}
