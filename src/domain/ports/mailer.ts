export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** What kind of mail ("password_reset", "email_verification"): what logs say instead of the content. */
  readonly purpose: string;
  /** The user it is for, for logs (never the address). */
  readonly userId: string;
}

/**
 * Sends mail. send() hands the message over and resolves without waiting for
 * delivery, so that answering never depends on (or reveals through timing)
 * whether a mail went out; failures are logged by the adapter.
 */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}
