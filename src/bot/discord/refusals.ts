/**
 * What a failed Discord call means for the answer to a user: which fallback can still work and what to
 * tell them. Discord answers refusals with an HTTP status and a JSON error code; discord.js surfaces them
 * as DiscordAPIError (4xx) or HTTPError (5xx after its retries); anything else is the network.
 */
import { DiscordAPIError, HTTPError, RESTJSONErrorCodes } from 'discord.js';

export type RefusalKind =
  /** The bot lacks a permission here (Attach Files, Send Messages, Read Message History…). */
  | 'permission'
  /** The upload is over the limit Discord applies to this channel. */
  | 'too-large'
  /** The message being edited (our reply or acknowledgement) was deleted, or its channel is gone. */
  | 'gone'
  /** The interaction token no longer works (expired, or the interaction is unknown). */
  | 'token'
  /** Any other 4xx: Discord will refuse the same request again. */
  | 'rejected'
  /** 5xx or a network failure: another route may well work. */
  | 'unavailable';

export interface Refusal {
  kind: RefusalKind;
  status?: number;
  code?: number | string;
  message: string;
}

const PERMISSION_CODES = new Set<number>([RESTJSONErrorCodes.MissingPermissions, RESTJSONErrorCodes.MissingAccess]);
const GONE_CODES = new Set<number>([RESTJSONErrorCodes.UnknownMessage, RESTJSONErrorCodes.UnknownChannel]);
const TOKEN_CODES = new Set<number>([
  RESTJSONErrorCodes.UnknownWebhook,
  RESTJSONErrorCodes.InvalidWebhookToken,
  RESTJSONErrorCodes.UnknownInteraction,
]);

export function classifyRefusal(err: unknown): Refusal {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof DiscordAPIError) {
    const code = typeof err.code === 'number' ? err.code : Number(err.code);
    const base = { status: err.status, code: err.code, message };
    if (PERMISSION_CODES.has(code)) return { kind: 'permission', ...base };
    if (code === RESTJSONErrorCodes.RequestEntityTooLarge || err.status === 413) return { kind: 'too-large', ...base };
    if (GONE_CODES.has(code)) return { kind: 'gone', ...base };
    if (TOKEN_CODES.has(code)) return { kind: 'token', ...base };
    if (err.status >= 500) return { kind: 'unavailable', ...base };
    return { kind: 'rejected', ...base };
  }
  if (err instanceof HTTPError)
    return { kind: err.status === 413 ? 'too-large' : 'unavailable', status: err.status, message };
  return { kind: 'unavailable', message };
}

/** Whether posting a new message with the same file can succeed where editing failed. */
export function newMessageMayWork(refusal: Refusal): boolean {
  return (
    refusal.kind === 'gone' || refusal.kind === 'token' || refusal.kind === 'unavailable' || refusal.kind === 'rejected'
  );
}

/** One line for the user: why the video is not attached, and what they (or an admin) can do. */
export function refusalText(refusal: Refusal, detail: { size?: string; limit?: string } = {}): string {
  switch (refusal.kind) {
    case 'permission':
      return '⚠️ I could not attach the video: I am missing the **Attach Files** permission in this channel. Ask a server admin to grant it (the BVH and GLB buttons still download the motion).';
    case 'too-large':
      return `⚠️ Discord refused the video${detail.size ? ` (${detail.size})` : ''} as too large for this channel${detail.limit ? ` (limit ${detail.limit})` : ''}; ask for a shorter clip or fewer variations (the BVH and GLB buttons still download the motion).`;
    case 'gone':
    case 'token':
      return '⚠️ My earlier reply was deleted, so the video could not be attached to it.';
    case 'rejected':
    case 'unavailable':
      return `⚠️ Discord did not take the video (${refusal.status ?? 'no answer'}${refusal.code !== undefined ? ` / ${refusal.code}` : ''}); press Reroll to try again (the BVH and GLB buttons still download the motion).`;
  }
}
