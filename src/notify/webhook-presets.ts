/**
 * The HTTP request a webhook channel sends, per preset: `generic` is certkeeper's own signed JSON;
 * the chat presets send each vendor's documented message format (unsigned: those endpoints
 * authenticate by the secret in their URL or a token, and ignore extra headers).
 */
import type { Notification, Severity } from './notification.js';
import { signWebhook } from './webhook-signature.js';

/** The presets of the webhook channel. */
export const WEBHOOK_PRESETS = ['generic', 'slack', 'teams', 'discord', 'telegram', 'ntfy'] as const;
/** One preset. */
export type WebhookPreset = (typeof WEBHOOK_PRESETS)[number];

/** The Telegram Bot API base URL (the `url` setting overrides it, e.g. for a local Bot API server). */
export const TELEGRAM_API_URL = 'https://api.telegram.org';

/** Where and how a webhook channel delivers. Holds secrets: never log it. */
export interface WebhookTarget {
  preset: WebhookPreset;
  /** The endpoint; for `telegram`, the Bot API base URL. */
  url: string;
  /** `generic`: the HMAC key. */
  secret?: string;
  /** `telegram`: the bot token. */
  botToken?: string;
  /** `telegram`: the chat to post to. */
  chatId?: string;
  /** `ntfy`: an access token (sent as a bearer token). */
  token?: string;
}

/** A request ready to send. `label` is safe to log and to show (no token, no path). */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  label: string;
}

const USER_AGENT = 'certkeeper';

const ICON: Record<Severity, string> = { critical: '🚨', warning: '⚠️', info: 'ℹ️' };

const truncate = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** The headline with the louder marker for critical notifications. */
function headline(n: Notification): string {
  return n.severity === 'critical' ? `URGENT: ${n.title}` : n.title;
}

/** Slack mrkdwn needs &, < and > escaped (https://api.slack.com/reference/surfaces/formatting#escaping). */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An ASCII-safe header value: RFC 2047 encoded-word when the text is not plain ASCII (ntfy decodes it). */
function headerText(s: string): string {
  const oneLine = s.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(oneLine) ? oneLine : `=?UTF-8?B?${Buffer.from(oneLine, 'utf8').toString('base64')}?=`;
}

/** Host (and port) of a URL, for logs and messages. */
export function urlLabel(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the webhook';
  }
}

/** The JSON body of a generic webhook. */
export function genericBody(n: Notification): string {
  const e = n.event;
  return JSON.stringify({ id: e.id, type: e.type, createdAt: e.createdAt, subject: e.subject, severity: n.severity, title: n.title, message: e.message, data: e.data });
}

/** Builds the request for `n` at `now`. */
export function buildWebhookRequest(target: WebhookTarget, n: Notification, now: Date): WebhookRequest {
  const json = { 'content-type': 'application/json', 'user-agent': USER_AGENT };
  const label = urlLabel(target.url);
  switch (target.preset) {
    case 'generic': {
      const body = genericBody(n);
      const timestamp = Math.floor(now.getTime() / 1000);
      return {
        url: target.url,
        label,
        body,
        headers: {
          ...json,
          'x-certkeeper-event': n.event.type,
          'x-certkeeper-delivery': n.deliveryId,
          'x-certkeeper-timestamp': String(timestamp),
          'x-certkeeper-signature': signWebhook(target.secret ?? '', timestamp, body),
        },
      };
    }
    case 'slack':
      // Incoming webhooks: https://api.slack.com/messaging/webhooks — `{ "text": … }` in mrkdwn.
      return { url: target.url, label, headers: json, body: JSON.stringify({ text: truncate(`${ICON[n.severity]} *${slackEscape(headline(n))}*\n${slackEscape(n.text)}`, 35_000) }) };
    case 'teams':
      // Teams Workflows webhooks take an Adaptive Card in a message attachment:
      // https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
      return {
        url: target.url,
        label,
        headers: json,
        body: JSON.stringify({
          type: 'message',
          attachments: [{
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                { type: 'TextBlock', text: headline(n), weight: 'Bolder', size: 'Medium', wrap: true, color: n.severity === 'critical' ? 'Attention' : n.severity === 'warning' ? 'Warning' : 'Default' },
                { type: 'TextBlock', text: n.text, wrap: true },
                { type: 'FactSet', facts: [{ title: 'Event', value: n.event.type }, { title: 'Time', value: n.event.createdAt }] },
              ],
            },
          }],
        }),
      };
    case 'discord':
      // Execute Webhook: https://discord.com/developers/docs/resources/webhook#execute-webhook —
      // `content` up to 2000 characters; no mentions, whatever the event text contains.
      return { url: target.url, label, headers: json, body: JSON.stringify({ content: truncate(`${ICON[n.severity]} **${headline(n)}**\n${n.text}`, 2000), allowed_mentions: { parse: [] } }) };
    case 'telegram': {
      // Bot API sendMessage: https://core.telegram.org/bots/api#sendmessage — text up to 4096 characters.
      const base = target.url.replace(/\/+$/, '');
      return {
        url: `${base}/bot${target.botToken ?? ''}/sendMessage`,
        label: `${label} sendMessage`,
        headers: json,
        body: JSON.stringify({ chat_id: target.chatId, text: truncate(`${ICON[n.severity]} ${headline(n)}\n\n${n.text}`, 4096), disable_web_page_preview: true }),
      };
    }
    case 'ntfy': {
      // Publish: https://docs.ntfy.sh/publish/ — the body is the message; Title, Priority (1–5), Tags headers.
      const headers: Record<string, string> = {
        'content-type': 'text/plain; charset=utf-8',
        'user-agent': USER_AGENT,
        title: headerText(truncate(headline(n), 250)),
        priority: n.severity === 'critical' ? '5' : n.severity === 'warning' ? '4' : '3',
        tags: n.severity === 'critical' ? 'rotating_light,lock' : n.severity === 'warning' ? 'warning,lock' : 'lock',
      };
      if (target.token) headers.authorization = `Bearer ${target.token}`;
      return { url: target.url, label, headers, body: truncate(n.text, 4000) };
    }
  }
}
