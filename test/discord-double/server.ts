/**
 * A local Discord API double: HTTP REST under /api/v10 and a gateway WebSocket, both on 127.0.0.1,
 * speaking the subset of the real protocol an unmodified discord.js v14 Client uses. It keeps guild,
 * channel, thread and message state, records every REST call and gateway frame it receives, and lets a
 * test act as Discord users: slash commands, button presses, mentions and thread messages.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

export interface RecordedFile {
  field: string;
  name: string;
  contentType: string;
  data: Buffer;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  body: Record<string, unknown> | undefined;
  files: RecordedFile[];
  at: number;
  status: number;
}

export interface User {
  id: string;
  username: string;
  bot?: boolean;
}

export interface DiscordMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: Record<string, unknown>;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  attachments: {
    id: string;
    filename: string;
    size: number;
    content_type: string;
    url: string;
    proxy_url: string;
    data: Buffer;
  }[];
  components: unknown[];
  embeds: unknown[];
  flags: number;
  webhook_id?: string;
  application_id?: string;
  message_reference?: { message_id: string; channel_id: string; guild_id?: string };
  thread?: Record<string, unknown>;
  /** Every version of the content, oldest first (the double's own history, not part of Discord's shape). */
  history: string[];
}

export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  name?: string;
  customId?: string;
  userId: string;
  channelId: string;
  sentAt: number;
  /** Interaction callbacks received for it (type 4 reply, 5 defer, 6 deferred update, 7 update). */
  callbacks: { type: number; at: number; data: Record<string, unknown> | undefined }[];
  /** The message the callback or webhook edits made (the "original" response). */
  original?: DiscordMessage;
  followups: DiscordMessage[];
  ephemeral: boolean;
}

const GATEWAY_HELLO_MS = 41_250;

let lastSnowflake = BigInt(Date.now() - 1420070400000) << 22n;
export function snowflake(): string {
  lastSnowflake += 1n;
  return lastSnowflake.toString();
}

function userObject(u: User): Record<string, unknown> {
  return {
    id: u.id,
    username: u.username,
    global_name: u.username,
    discriminator: '0',
    avatar: null,
    bot: u.bot ?? false,
    public_flags: 0,
  };
}

/**
 * A refusal the double answers instead of doing the request, as Discord does when the bot lacks a
 * permission (403 / 50013), a file is too large (413 / 40005), a message was deleted (404 / 10008), a
 * command is invalid (400 / 50035) or it is having a bad day (5xx).
 */
export interface RefusalRule {
  method?: string;
  /** Matched against the path without the /api/v10 prefix. */
  path?: RegExp;
  /** Only requests that upload files (Attach Files, upload limits). */
  withFiles?: boolean;
  status: number;
  code: number;
  message: string;
  /** How many matching requests to refuse (default: all). */
  times?: number;
}

export interface DoubleOptions {
  /** Guild premium tier (sets the upload limit discord.js reports). */
  premiumTier?: number;
  /** `attachment_size_limit` sent in interactions (bytes). */
  attachmentSizeLimit?: number;
}

export class DiscordDouble {
  readonly appId = snowflake();
  readonly botUser: User = { id: this.appId, username: 'Charades', bot: true };
  readonly guildId = snowflake();
  readonly channelId = snowflake();
  readonly otherChannelId = snowflake();
  readonly requests: RecordedRequest[] = [];
  readonly gatewayFrames: Record<string, unknown>[] = [];
  readonly messages = new Map<string, DiscordMessage>();
  readonly interactions = new Map<string, InteractionRecord>();
  readonly threads = new Map<string, Record<string, unknown>>();
  readonly registeredCommands: Record<string, unknown>[] = [];
  identify: Record<string, unknown> | undefined;
  /** Gateway RESUME frames received (a reconnect that kept its session). */
  readonly resumes: Record<string, unknown>[] = [];
  /** Close codes sent to the bot's gateway connections, in order. */
  readonly gatewayCloses: number[] = [];
  private refusals: (RefusalRule & { left: number })[] = [];
  private identifyCloses: { code: number; left: number } | undefined;
  private upgradeRejections = 0;
  /** Gateway connections refused at the WebSocket handshake (HTTP 503). */
  rejectedUpgrades = 0;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private sockets = new Set<WebSocket>();
  private seq = 0;
  private waiters: (() => void)[] = [];
  port = 0;

  constructor(readonly options: DoubleOptions = {}) {}

  get apiBase(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.wss = new WebSocketServer({
      server: this.server,
      path: '/gateway',
      verifyClient: (_info, accept) => {
        if (this.upgradeRejections <= 0) return accept(true);
        this.upgradeRejections--;
        this.rejectedUpgrades++;
        accept(false, 503, 'Service Unavailable');
      },
    });
    this.wss.on('connection', (ws) => this.onGateway(ws));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss?.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }

  // ------------------------------------------------------------------ guild state

  private channelObject(id: string, name: string): Record<string, unknown> {
    return {
      id,
      type: 0,
      guild_id: this.guildId,
      name,
      position: 0,
      permission_overwrites: [],
      nsfw: false,
      parent_id: null,
      topic: null,
      last_message_id: null,
      rate_limit_per_user: 0,
    };
  }

  private guildObject(): Record<string, unknown> {
    return {
      id: this.guildId,
      name: 'Charades Test Guild',
      icon: null,
      owner_id: '1',
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      features: [],
      mfa_level: 0,
      system_channel_flags: 0,
      premium_tier: this.options.premiumTier ?? 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      nsfw_level: 0,
      unavailable: false,
      member_count: 3,
      large: false,
      joined_at: new Date().toISOString(),
      roles: [
        {
          id: this.guildId,
          name: '@everyone',
          permissions: '1071698660929',
          position: 0,
          color: 0,
          hoist: false,
          managed: false,
          mentionable: false,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      voice_states: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      threads: [...this.threads.values()],
      channels: [this.channelObject(this.channelId, 'general'), this.channelObject(this.otherChannelId, 'random')],
      members: [
        {
          user: userObject(this.botUser),
          roles: [],
          joined_at: new Date().toISOString(),
          deaf: false,
          mute: false,
          flags: 0,
        },
      ],
    };
  }

  // ------------------------------------------------------------------ gateway

  private send(ws: WebSocket, payload: Record<string, unknown>): void {
    ws.send(JSON.stringify(payload));
  }

  dispatch(t: string, d: unknown): void {
    this.seq++;
    for (const ws of this.sockets) this.send(ws, { op: 0, t, s: this.seq, d });
  }

  private onGateway(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    this.send(ws, { op: 10, d: { heartbeat_interval: GATEWAY_HELLO_MS }, s: null, t: null });
    ws.on('message', (raw) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(raw.toString()) as Record<string, unknown>;
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      this.gatewayFrames.push(frame);
      if (frame.op === 1) this.send(ws, { op: 11, d: null, s: null, t: null });
      else if (frame.op === 2 && this.identifyCloses && this.identifyCloses.left > 0) {
        this.identifyCloses.left--;
        this.closeSocket(ws, this.identifyCloses.code);
      } else if (frame.op === 2) this.onIdentify(ws, frame.d as Record<string, unknown>);
      else if (frame.op === 6) this.onResume(ws, frame.d as Record<string, unknown>);
      this.notify();
    });
  }

  private closeSocket(ws: WebSocket, code: number): void {
    this.gatewayCloses.push(code);
    ws.close(code, `closed by the Discord double (${code})`);
  }

  /** Closes every open gateway connection with `code` (as Discord does on errors, deploys or bad sessions). */
  closeGateway(code: number): void {
    for (const ws of this.sockets) this.closeSocket(ws, code);
  }

  /** Answers the next `times` IDENTIFYs by closing the connection with `code` (4004 bad token, 4014 disallowed intents…). */
  closeOnIdentify(code: number, times = Number.POSITIVE_INFINITY): void {
    this.identifyCloses = { code, left: times };
  }

  /** Refuses the next `times` gateway connections at the handshake (HTTP 503), as an overloaded or misrouted gateway does. */
  rejectGatewayConnections(times: number): void {
    this.upgradeRejections = times;
  }

  private onResume(ws: WebSocket, d: Record<string, unknown>): void {
    this.resumes.push(d);
    this.seq++;
    this.send(ws, { op: 0, t: 'RESUMED', s: this.seq, d: {} });
  }

  private onIdentify(ws: WebSocket, d: Record<string, unknown>): void {
    this.identify = d;
    this.seq++;
    this.send(ws, {
      op: 0,
      t: 'READY',
      s: this.seq,
      d: {
        v: 10,
        user: { ...userObject(this.botUser), verified: true, mfa_enabled: false, flags: 0 },
        guilds: [{ id: this.guildId, unavailable: true }],
        session_id: randomBytes(16).toString('hex'),
        resume_gateway_url: `ws://127.0.0.1:${this.port}/gateway`,
        application: { id: this.appId, flags: 0 },
        shard: [0, 1],
        private_channels: [],
        relationships: [],
        presences: [],
      },
    });
    this.seq++;
    this.send(ws, { op: 0, t: 'GUILD_CREATE', s: this.seq, d: this.guildObject() });
  }

  // ------------------------------------------------------------------ acting as users

  private memberObject(u: User): Record<string, unknown> {
    return {
      user: userObject(u),
      roles: [],
      joined_at: new Date().toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
      permissions: u.id === 'admin' ? '8' : '1071698660929',
      nick: null,
      avatar: null,
    };
  }

  private channelFor(id: string): Record<string, unknown> {
    return this.threads.get(id) ?? this.channelObject(id, id === this.channelId ? 'general' : 'random');
  }

  private newInteraction(
    type: number,
    user: User,
    channelId: string,
    data: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): InteractionRecord {
    const id = snowflake();
    const token = `itok-${randomBytes(12).toString('hex')}`;
    const record: InteractionRecord = {
      id,
      token,
      type,
      userId: user.id,
      channelId,
      sentAt: performance.now(),
      callbacks: [],
      followups: [],
      ephemeral: false,
      name: typeof data.name === 'string' ? data.name : undefined,
      customId: typeof data.custom_id === 'string' ? data.custom_id : undefined,
    };
    this.interactions.set(id, record);
    this.dispatch('INTERACTION_CREATE', {
      id,
      application_id: this.appId,
      type,
      data,
      guild_id: this.guildId,
      channel_id: channelId,
      channel: this.channelFor(channelId),
      member: this.memberObject(user),
      token,
      version: 1,
      app_permissions: '1071698660929',
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { 0: this.guildId },
      context: 0,
      attachment_size_limit: this.options.attachmentSizeLimit ?? 10 * 1024 * 1024,
      ...extra,
    });
    return record;
  }

  /** A user runs a slash command; `options` are name → value (strings, numbers, or a subcommand object). */
  slashCommand(
    user: User,
    name: string,
    options: Record<string, string | number> = {},
    channelId = this.channelId,
    subcommand?: string,
  ): InteractionRecord {
    const command = this.registeredCommands.find((c) => c.name === name);
    const declared = (command?.options ?? []) as {
      name: string;
      type: number;
      options?: { name: string; type: number }[];
    }[];
    const scope = subcommand ? (declared.find((o) => o.name === subcommand)?.options ?? []) : declared;
    const typeOf = (n: string, value: string | number) =>
      scope.find((o) => o.name === n)?.type ?? (typeof value === 'number' ? (Number.isInteger(value) ? 4 : 10) : 3);
    const opts = Object.entries(options).map(([n, value]) => ({ name: n, type: typeOf(n, value), value }));
    const data = {
      id: (command?.id as string | undefined) ?? snowflake(),
      name,
      type: 1,
      options: subcommand ? [{ name: subcommand, type: 1, options: opts }] : opts,
    };
    return this.newInteraction(2, user, channelId, data);
  }

  /** A user presses a button on a message the bot posted. */
  pressButton(user: User, message: DiscordMessage, customId: string): InteractionRecord {
    const { history: _h, attachments, ...shape } = message;
    const wire = {
      ...shape,
      attachments: attachments.map(({ data: _d, ...a }) => a),
      type: 0,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      pinned: false,
    };
    return this.newInteraction(
      3,
      user,
      message.channel_id,
      { custom_id: customId, component_type: 2 },
      { message: wire },
    );
  }

  /** A user posts a message (optionally mentioning the bot or replying to a message). */
  userMessage(
    user: User,
    channelId: string,
    content: string,
    options: { mentionBot?: boolean; replyTo?: DiscordMessage } = {},
  ): DiscordMessage {
    const text = options.mentionBot ? `<@${this.appId}> ${content}` : content;
    const msg = this.storeMessage(channelId, userObject(user), text, { reference: options.replyTo });
    const { history: _h, attachments: _a, ...shape } = msg;
    this.dispatch('MESSAGE_CREATE', {
      ...shape,
      attachments: [],
      type: options.replyTo ? 19 : 0,
      tts: false,
      mention_everyone: false,
      pinned: false,
      mention_roles: [],
      mentions: options.mentionBot ? [userObject(this.botUser)] : [],
      member: { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 },
      referenced_message: options.replyTo ? { ...options.replyTo, history: undefined, attachments: [] } : undefined,
    });
    return msg;
  }

  // ------------------------------------------------------------------ messages

  private storeMessage(
    channelId: string,
    author: Record<string, unknown>,
    content: string,
    extra: { reference?: DiscordMessage; webhook?: boolean } = {},
  ): DiscordMessage {
    const msg: DiscordMessage = {
      id: snowflake(),
      channel_id: channelId,
      guild_id: this.guildId,
      author,
      content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      attachments: [],
      components: [],
      embeds: [],
      flags: 0,
      history: [content],
      ...(extra.webhook ? { webhook_id: this.appId, application_id: this.appId } : {}),
      ...(extra.reference
        ? {
            message_reference: {
              message_id: extra.reference.id,
              channel_id: extra.reference.channel_id,
              guild_id: this.guildId,
            },
          }
        : {}),
    };
    this.messages.set(msg.id, msg);
    return msg;
  }

  private applyMessageBody(
    msg: DiscordMessage,
    body: Record<string, unknown> | undefined,
    files: RecordedFile[],
    editing: boolean,
  ): void {
    if (body?.content !== undefined) msg.content = String(body.content ?? '');
    if (body?.components !== undefined) msg.components = body.components as unknown[];
    if (body?.embeds !== undefined) msg.embeds = body.embeds as unknown[];
    if (body?.flags !== undefined) msg.flags = Number(body.flags);
    const keep = Array.isArray(body?.attachments) ? (body.attachments as { id?: string }[]) : undefined;
    if (keep && editing) msg.attachments = msg.attachments.filter((a) => keep.some((k) => k.id === a.id));
    for (const f of files) {
      const id = snowflake();
      msg.attachments.push({
        id,
        filename: f.name,
        size: f.data.length,
        content_type: f.contentType,
        url: `http://127.0.0.1:${this.port}/attachments/${id}/${f.name}`,
        proxy_url: `http://127.0.0.1:${this.port}/attachments/${id}/${f.name}`,
        data: f.data,
      });
    }
    if (editing) {
      msg.edited_timestamp = new Date().toISOString();
      msg.history.push(msg.content);
    }
  }

  wire(msg: DiscordMessage): Record<string, unknown> {
    const { history: _h, attachments, ...shape } = msg;
    return {
      ...shape,
      attachments: attachments.map(({ data: _d, ...a }) => a),
      type: 0,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      pinned: false,
    };
  }

  /** Messages in a channel or thread, oldest first. */
  channelMessages(channelId: string): DiscordMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId);
  }

  // ------------------------------------------------------------------ REST

  private async readBody(
    req: IncomingMessage,
  ): Promise<{ body: Record<string, unknown> | undefined; files: RecordedFile[] }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const type = req.headers['content-type'] ?? '';
    if (raw.length === 0) return { body: undefined, files: [] };
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
      const files: RecordedFile[] = [];
      let body: Record<string, unknown> | undefined;
      for (const [field, value] of form.entries()) {
        if (typeof value === 'string') {
          if (field === 'payload_json') body = JSON.parse(value) as Record<string, unknown>;
        } else {
          files.push({
            field,
            name: value.name,
            contentType: value.type,
            data: Buffer.from(await value.arrayBuffer()),
          });
        }
      }
      return { body, files };
    }
    return { body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, files: [] };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    let parsed: { body: Record<string, unknown> | undefined; files: RecordedFile[] };
    try {
      parsed = await this.readBody(req);
    } catch (err) {
      this.reply(res, 400, { message: `bad body: ${(err as Error).message}`, code: 50109 });
      return;
    }
    const path = decodeURIComponent(url.pathname).replace(/^\/api(?:\/v\d+)?/, '');
    const record: RecordedRequest = {
      method,
      path,
      query: url.search,
      body: parsed.body,
      files: parsed.files,
      at: performance.now(),
      status: 0,
    };
    this.requests.push(record);
    const refusal = this.refusalFor(method, path, parsed.files);
    const [status, out] = refusal
      ? [refusal.status, { message: refusal.message, code: refusal.code }]
      : this.route(method, path, url, parsed.body, parsed.files);
    record.status = status;
    this.reply(res, status, out);
    this.notify();
  }

  /** From now on, refuse requests matching `rule` (see RefusalRule); returns a function that lifts it. */
  refuse(rule: RefusalRule): () => void {
    const entry = { ...rule, left: rule.times ?? Number.POSITIVE_INFINITY };
    this.refusals.push(entry);
    return () => {
      this.refusals = this.refusals.filter((r) => r !== entry);
    };
  }

  private refusalFor(method: string, path: string, files: RecordedFile[]): RefusalRule | undefined {
    const rule = this.refusals.find(
      (r) =>
        r.left > 0 &&
        (!r.method || r.method === method) &&
        (!r.path || r.path.test(path)) &&
        (!r.withFiles || files.length > 0),
    );
    if (rule) rule.left--;
    return rule;
  }

  /** Deletes a message as a user or moderator would; edits of it then get 404 / 10008. */
  deleteMessage(id: string): void {
    this.messages.delete(id);
    for (const i of this.interactions.values()) {
      if (i.original?.id === id) i.original = undefined;
    }
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    if (status === 204) {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private interactionByToken(token: string): InteractionRecord | undefined {
    return [...this.interactions.values()].find((i) => i.token === token);
  }

  private route(
    method: string,
    path: string,
    url: URL,
    body: Record<string, unknown> | undefined,
    files: RecordedFile[],
  ): [number, unknown] {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      return [
        200,
        {
          url: `ws://127.0.0.1:${this.port}/gateway`,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
        },
      ];
    }
    if (method === 'GET' && path === '/users/@me') return [200, userObject(this.botUser)];
    if (method === 'PUT' && (m = path.match(/^\/applications\/(\d+)\/(?:guilds\/\d+\/)?commands$/))) {
      const list = (Array.isArray(body) ? body : []) as Record<string, unknown>[];
      this.registeredCommands.splice(
        0,
        this.registeredCommands.length,
        ...list.map((c) => ({ ...c, id: snowflake(), application_id: this.appId, version: snowflake() })),
      );
      return [200, this.registeredCommands];
    }
    if (method === 'POST' && (m = path.match(/^\/interactions\/(\d+)\/([^/]+)\/callback$/))) {
      const interaction = this.interactions.get(m[1]);
      if (!interaction || interaction.token !== m[2]) return [404, { message: 'Unknown interaction', code: 10062 }];
      if (interaction.callbacks.length > 0)
        return [400, { message: 'Interaction has already been acknowledged.', code: 40060 }];
      const type = Number(body?.type);
      const data = body?.data as Record<string, unknown> | undefined;
      interaction.callbacks.push({ type, at: performance.now(), data });
      interaction.ephemeral = (Number(data?.flags ?? 0) & 64) !== 0;
      if (type === 4 || type === 5) {
        interaction.original = this.storeMessage(interaction.channelId, userObject(this.botUser), '', {
          webhook: true,
        });
        this.applyMessageBody(interaction.original, data, files, false);
      } else if (type === 7 || type === 6) {
        const source = [...this.messages.values()].find(
          (msg) =>
            msg.components.length > 0 && JSON.stringify(msg.components).includes(interaction.customId ?? '\u0000'),
        );
        if (source && type === 7) this.applyMessageBody(source, data, files, true);
        interaction.original = source;
      }
      if (url.searchParams.get('with_response') === 'true') {
        return [
          200,
          {
            interaction: { id: interaction.id, type: interaction.type },
            resource: { type, message: interaction.original ? this.wire(interaction.original) : undefined },
          },
        ];
      }
      return [204, undefined];
    }
    if ((m = path.match(/^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/))) {
      const interaction = this.interactionByToken(m[2]);
      if (!interaction) return [404, { message: 'Unknown Webhook', code: 10015 }];
      const target =
        m[3] === '@original'
          ? interaction.original
          : [interaction.original, ...interaction.followups].find((x) => x?.id === m![3]);
      if (!target) return [404, { message: 'Unknown Message', code: 10008 }];
      if (method === 'GET') return [200, this.wire(target)];
      if (method === 'PATCH') {
        this.applyMessageBody(target, body, files, true);
        return [200, this.wire(target)];
      }
      if (method === 'DELETE') {
        this.messages.delete(target.id);
        return [204, undefined];
      }
    }
    if (method === 'POST' && (m = path.match(/^\/webhooks\/(\d+)\/([^/]+)$/))) {
      const interaction = this.interactionByToken(m[2]);
      if (!interaction) return [404, { message: 'Unknown Webhook', code: 10015 }];
      const msg = this.storeMessage(interaction.channelId, userObject(this.botUser), '', { webhook: true });
      this.applyMessageBody(msg, body, files, false);
      interaction.followups.push(msg);
      return [200, this.wire(msg)];
    }
    if ((m = path.match(/^\/channels\/(\d+)\/messages$/)) && method === 'POST') {
      const ref = body?.message_reference as { message_id?: string } | undefined;
      const msg = this.storeMessage(m[1], userObject(this.botUser), '', {
        reference: ref?.message_id ? this.messages.get(ref.message_id) : undefined,
      });
      this.applyMessageBody(msg, body, files, false);
      return [200, this.wire(msg)];
    }
    if ((m = path.match(/^\/channels\/(\d+)\/messages\/(\d+)$/))) {
      const msg = this.messages.get(m[2]);
      if (!msg || msg.channel_id !== m[1]) return [404, { message: 'Unknown Message', code: 10008 }];
      if (method === 'GET') return [200, this.wire(msg)];
      if (method === 'PATCH') {
        this.applyMessageBody(msg, body, files, true);
        return [200, this.wire(msg)];
      }
    }
    if (method === 'POST' && (m = path.match(/^\/channels\/(\d+)\/messages\/(\d+)\/threads$/))) {
      const starter = this.messages.get(m[2]);
      if (!starter) return [404, { message: 'Unknown Message', code: 10008 }];
      const thread = this.createThread(m[1], String(body?.name ?? 'thread'), starter.id);
      starter.thread = thread;
      return [201, thread];
    }
    if (method === 'POST' && (m = path.match(/^\/channels\/(\d+)\/threads$/))) {
      return [201, this.createThread(m[1], String(body?.name ?? 'thread'))];
    }
    if ((m = path.match(/^\/channels\/(\d+)$/)) && method === 'GET') {
      return [200, this.channelFor(m[1])];
    }
    if (method === 'POST' && /^\/channels\/\d+\/typing$/.test(path)) return [204, undefined];
    return [404, { message: `the Discord double does not implement ${method} ${path}`, code: 0 }];
  }

  private createThread(parentId: string, name: string, starterId?: string): Record<string, unknown> {
    const id = starterId ?? snowflake();
    const thread = {
      id,
      type: 11,
      guild_id: this.guildId,
      parent_id: parentId,
      name,
      owner_id: this.appId,
      last_message_id: null,
      rate_limit_per_user: 0,
      message_count: 0,
      member_count: 1,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 1440,
        archive_timestamp: new Date().toISOString(),
        locked: false,
      },
      flags: 0,
    };
    this.threads.set(id, thread);
    this.dispatch('THREAD_CREATE', { ...thread, newly_created: true });
    return thread;
  }

  // ------------------------------------------------------------------ waiting

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `check` returns a value (re-checked after every request or gateway frame). */
  async waitFor<T>(check: () => T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Discord double: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}
