import nodemailer, { type Transporter } from "nodemailer";
import type { Mailer, MailMessage } from "../domain/ports/mailer.ts";
import type { Logger } from "../observability/logger.ts";

/** How long close() waits for mails still being handed to the SMTP server. */
const DRAIN_TIMEOUT_MS = 5000;

/**
 * Mail through SMTP (SMTP_URL, e.g. smtp://user:pass@mail:587 or smtps://…).
 * send() queues the message and returns at once: delivery time never shows in
 * a response. Failures are logged with the mail's purpose and user id only —
 * never the address, subject or body (which may carry a token).
 */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;
  private readonly from: string;
  private readonly logger: Logger;
  private readonly pending = new Set<Promise<void>>();

  constructor(url: string, from: string, logger: Logger) {
    this.transport = nodemailer.createTransport(url);
    this.from = from;
    this.logger = logger;
  }

  async send(message: MailMessage): Promise<void> {
    const delivery = this.transport
      .sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text })
      .then(
        () => this.logger.info({ purpose: message.purpose, userId: message.userId }, "mail sent"),
        (error: unknown) =>
          this.logger.error(
            { purpose: message.purpose, userId: message.userId, err: { message: (error as Error).message } },
            "mail could not be sent",
          ),
      );
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  async close(): Promise<void> {
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS).unref()),
    ]);
    this.transport.close();
  }
}

/** Without SMTP_URL: says that a mail could not be sent (its purpose and user, never its content). */
export class UnconfiguredMailer implements Mailer {
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  async send(message: MailMessage): Promise<void> {
    this.logger.warn(
      { purpose: message.purpose, userId: message.userId },
      "mail not sent: SMTP_URL is not configured",
    );
  }

  async close(): Promise<void> {}
}
