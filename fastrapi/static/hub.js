// @ts-check
/**
 * fastrapi's browser client of the `fastrapi.hub.v1` protocol: an app's Hub, spoken over one
 * WebSocket to a route made with `app.hub_route(path)`. Every app with a hub route serves this
 * file at `/_fastrapi/hub.js`; it is one ES module with no dependencies.
 *
 * ```js
 * import { HubClient } from "/_fastrapi/hub.js";
 * const hub = new HubClient("/realtime");
 * const sub = hub.subscribe("room", {
 *   onMessage(data, position) {},
 *   onSubscribed({ recovered, wasRecovering }) {},
 * });
 * await hub.publish("room", { text: "hi" });
 * ```
 *
 * What it does for the page:
 * - connects, and reconnects after a close that says so (or a lost connection) with exponential
 *   backoff and full jitter: the n-th attempt waits a random time in
 *   [0, min(maxReconnectDelay, minReconnectDelay * 2**n)); n starts again after `stableAfter`
 *   seconds connected. A close that says "stop" (1000, 1002, 1003, 1007, 1009, 4400, 4401,
 *   4403, and the application's 4500-4999) stops it.
 * - resubscribes every topic from the last position it saw (kept in `sessionStorage`, so a
 *   reload recovers too), and drops a publication whose offset is not above the last one seen.
 * - answers the server's `ping` and closes and reconnects when none came for the ping interval
 *   and `pingGrace` seconds (a dead server or a broken path, which a page cannot otherwise see).
 * - closes when the browser goes `offline`, and connects again at once when it is `online`.
 * - holds the commands made while disconnected (publish, rpc, presence, history), at most
 *   `maxQueue` of them, and sends them once connected; each waits at most its timeout.
 *
 * @module
 */

/** The WebSocket subprotocol of the protocol. */
export const SUBPROTOCOL = "fastrapi.hub.v1";

/** The protocol's version, as the server's `hello` gives it. */
export const VERSION = 1;

/**
 * Close codes after which the client reconnects (with backoff) and recovers: going away,
 * abnormal closure, policy violation (a slow consumer), internal error, service restart, try
 * again later.
 * @type {ReadonlySet<number>}
 */
export const RECONNECT_CODES = new Set([1001, 1006, 1008, 1011, 1012, 1013]);

/**
 * Close codes after which the client stops: a normal end, a protocol the two sides do not agree
 * on, or the handshake refused (4400 bad request, 4401 unauthorized, 4403 forbidden). The
 * application's own codes, 4500-4999, stop it too.
 * @type {ReadonlySet<number>}
 */
export const STOP_CODES = new Set([1000, 1002, 1003, 1007, 1009, 4400, 4401, 4403]);

/**
 * Whether a close with `code` stops the client (see {@link STOP_CODES}); any other code, among
 * them those the contract does not name, has it reconnect.
 * @param {number} code
 * @returns {boolean}
 */
export function isStopCode(code) {
  return STOP_CODES.has(code) || (code >= 4500 && code <= 4999);
}

/**
 * The delay before reconnection attempt number `attempt` (0 for the first), in seconds:
 * exponential backoff with full jitter, a random time in
 * [0, min(maxDelay, minDelay * 2**attempt)).
 * @param {number} attempt
 * @param {number} minDelay
 * @param {number} maxDelay
 * @param {() => number} [random] a number in [0, 1) (default `Math.random`)
 * @returns {number}
 */
export function backoffDelay(attempt, minDelay, maxDelay, random = Math.random) {
  const ceiling = Math.min(maxDelay, minDelay * 2 ** Math.min(attempt, 52));
  return random() * ceiling;
}

/**
 * Why a command failed.
 * - `"error"`: the server answered with an error reply; `code` is its HTTP-like code (400
 *   malformed, 403 refused, 404 unknown, 409 already subscribed, 500 the handler failed, 503
 *   the Hub is unavailable).
 * - `"timeout"`: no reply within the command's timeout (a queued command is not sent then).
 * - `"disconnected"`: the connection was lost after the command was sent and before its reply:
 *   it may or may not have been carried out.
 * - `"queue_full"`: disconnected, and `maxQueue` commands were already waiting.
 * - `"closed"`: the client was closed, or stopped by the server.
 * @typedef {"error" | "timeout" | "disconnected" | "queue_full" | "closed"} HubErrorReason
 */

/** A command that failed: an error reply from the server, or the client gave up on it. */
export class HubError extends Error {
  /**
   * @param {HubErrorReason} reason
   * @param {number} code the error reply's code; 0 when the client gave up (see `reason`)
   * @param {string} message
   */
  constructor(reason, code, message) {
    super(message);
    this.name = "HubError";
    /** @type {HubErrorReason} */
    this.reason = reason;
    /** @type {number} */
    this.code = code;
  }
}

/**
 * A position in a topic: its `epoch` and the `offset` of a message within it.
 * @typedef {{ epoch: string, offset: number }} Position
 */

/**
 * What `onSubscribed` is told each time the subscription is (re)made.
 * @typedef {object} SubscribedInfo
 * @property {boolean} wasRecovering the client asked for what it missed (it had a position)
 * @property {boolean} recovered every message after that position follows, none lost; false
 *   after a gap (no longer kept, a new epoch, no history): reload the state the page shows
 * @property {Position} position where the subscription goes on from
 */

/**
 * The page's callbacks of a subscription.
 * @typedef {object} SubscriptionHandlers
 * @property {(data: any, position: Position) => void} [onMessage] each publication, in order,
 *   once
 * @property {(info: SubscribedInfo) => void} [onSubscribed] each time the server confirms the
 *   subscription (after every reconnection too)
 * @property {(error: HubError) => void} [onError] the server refused the subscription (the
 *   subscription ends: it is not made again)
 * @property {(member: any) => void} [onJoin] a `join` message (a route with presence events)
 * @property {(member: any) => void} [onLeave] a `leave` message
 */

/**
 * The options of a {@link HubClient}; durations are in seconds.
 * @typedef {object} HubClientOptions
 * @property {number} [minReconnectDelay] the backoff's first window (default 0.1)
 * @property {number} [maxReconnectDelay] the backoff's largest window (default 10)
 * @property {number} [stableAfter] seconds connected after which the backoff starts again
 *   from its first window (default 10)
 * @property {number} [pingGrace] how late a server's ping may be before the connection is
 *   taken for dead (default 5)
 * @property {number} [connectTimeout] how long a connection may take to open and say hello
 *   (default 10)
 * @property {number} [timeout] how long a command waits for its reply, queueing included
 *   (default 10)
 * @property {number} [maxQueue] how many commands may wait for a connection (default 500)
 * @property {string[]} [protocols] subprotocols offered after `fastrapi.hub.v1` (such as
 *   `["bearer", token]`, which fastrapi's security helpers read)
 * @property {Storage | null} [storage] where the last positions are kept (default
 *   `sessionStorage`; `null`: nowhere, a reload starts afresh)
 * @property {string} [storageKey] the prefix of the keys in `storage` (default
 *   `"fastrapi.hub:" + url`)
 * @property {boolean} [watchNetwork] close on the window's `offline` event and connect again
 *   on `online` (default true where there is a window)
 * @property {typeof WebSocket} [WebSocket] the WebSocket class (default the global one)
 * @property {() => number} [random] a number in [0, 1), for the jitter (default `Math.random`)
 */

/**
 * The client's connection state.
 * @typedef {"connecting" | "connected" | "disconnected"} HubState
 */

/**
 * What the `close` event tells of each connection that ended.
 * @typedef {object} CloseInfo
 * @property {number} code the close code (1006 when the connection was lost, or dropped by the
 *   client for want of a ping or a hello)
 * @property {string} reason the close reason
 * @property {boolean} reconnect whether the client connects again
 */

/**
 * @typedef {object} Pending
 * @property {number} id
 * @property {string} frame the command, as sent
 * @property {boolean} sent
 * @property {(result: any) => void} resolve
 * @property {(error: HubError) => void} reject
 * @property {ReturnType<typeof setTimeout> | undefined} timer
 */

const DEFAULTS = {
  minReconnectDelay: 0.1,
  maxReconnectDelay: 10,
  stableAfter: 10,
  pingGrace: 5,
  connectTimeout: 10,
  timeout: 10,
  maxQueue: 500,
};

/**
 * A positive number of seconds from the options, or the default.
 * @param {Record<string, unknown>} options
 * @param {keyof typeof DEFAULTS} name
 * @returns {number}
 */
function seconds(options, name) {
  const value = options[name] ?? DEFAULTS[name];
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`HubClient option ${name} must be a number >= 0, not ${value}`);
  }
  return value;
}

/**
 * `url` as a WebSocket URL: a path or an http(s) URL is resolved against the page's location.
 * @param {string} url
 * @returns {string}
 */
function webSocketURL(url) {
  const base = typeof location === "undefined" ? undefined : location.href;
  const resolved = new URL(url, base);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  else if (resolved.protocol === "https:") resolved.protocol = "wss:";
  return resolved.href;
}

/**
 * A position read back from storage, or null.
 * @param {Storage | null} storage
 * @param {string} key
 * @returns {Position | null}
 */
function loadPosition(storage, key) {
  if (storage === null) return null;
  try {
    const text = storage.getItem(key);
    if (text === null) return null;
    const value = JSON.parse(text);
    if (typeof value?.epoch === "string" && Number.isInteger(value?.offset) && value.offset >= 0) {
      return { epoch: value.epoch, offset: value.offset };
    }
  } catch {
    // unreadable (storage refused, or not ours): start afresh
  }
  return null;
}

/** One topic the page subscribed to. Made by {@link HubClient.subscribe}. */
export class Subscription {
  /**
   * @param {HubClient} hub
   * @param {string} topic
   * @param {SubscriptionHandlers} handlers
   * @param {Position | null} since
   */
  constructor(hub, topic, handlers, since) {
    /** @type {HubClient} */
    this.hub = hub;
    /** The topic. */
    this.topic = topic;
    /** @type {SubscriptionHandlers} */
    this.handlers = handlers;
    /**
     * The position of the last publication delivered (or where the subscription goes on from);
     * a reconnection asks for what came after it.
     * @type {Position | null}
     */
    this.position = since;
    /** Whether the server has confirmed the subscription on the current connection. */
    this.subscribed = false;
    /** Whether it ended: unsubscribed, refused by the server, or its client closed. */
    this.closed = false;
  }

  /** Stop receiving the topic's messages (and forget its position); idempotent. */
  unsubscribe() {
    this.hub._unsubscribe(this);
  }
}

/**
 * The client: one WebSocket to a hub route, kept open. Dispatches `state` events (`detail`:
 * "connecting" | "connected" | "disconnected"), `close` events (`detail`: a
 * {@link CloseInfo}) and `error` events (`detail`: a {@link HubError} the server sent with no
 * command to give it to).
 */
export class HubClient extends EventTarget {
  /**
   * Make the client and start connecting.
   * @param {string} url the hub route: `ws://`/`wss://`, `http://`/`https://`, or a path on
   *   the page's server (`"/realtime"`)
   * @param {HubClientOptions} [options]
   */
  constructor(url, options = {}) {
    super();
    const given = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (options));
    /** The hub route's WebSocket URL. */
    this.url = webSocketURL(url);
    this._minDelay = seconds(given, "minReconnectDelay");
    this._maxDelay = seconds(given, "maxReconnectDelay");
    this._stableAfter = seconds(given, "stableAfter");
    this._pingGrace = seconds(given, "pingGrace");
    this._connectTimeout = seconds(given, "connectTimeout");
    this._timeout = seconds(given, "timeout");
    this._maxQueue = seconds(given, "maxQueue");
    if (this._minDelay <= 0 || this._maxDelay < this._minDelay) {
      throw new RangeError("HubClient needs 0 < minReconnectDelay <= maxReconnectDelay");
    }
    this._protocols = [SUBPROTOCOL, ...(options.protocols ?? [])];
    /** @type {Storage | null} */
    this._storage =
      options.storage !== undefined
        ? options.storage
        : typeof sessionStorage === "undefined"
          ? null
          : sessionStorage;
    this._storageKey = options.storageKey ?? `fastrapi.hub:${this.url}`;
    const Socket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof Socket !== "function") {
      throw new TypeError("HubClient needs a WebSocket class: pass options.WebSocket");
    }
    this._Socket = Socket;
    this._random = options.random ?? Math.random;

    /** @type {HubState} */
    this._state = "disconnected";
    /** @type {WebSocket | null} */
    this._ws = null;
    this._attempt = 0;
    this._nextId = 1;
    this._closed = false;
    /** The close code that stopped the client, if one did. @type {number | null} */
    this.stopCode = null;
    /** The server's ping interval, in seconds (null: it sends no pings). @type {number | null} */
    this.pingInterval = null;
    /** @type {Map<string, Subscription>} */
    this._subscriptions = new Map();
    /** Subscribe commands waiting for their `subscribed`, by id. @type {Map<number, Subscription>} */
    this._subscribing = new Map();
    /** Commands waiting for their reply (sent or queued), by id. @type {Map<number, Pending>} */
    this._pending = new Map();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._reconnectTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._aliveTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._stableTimer = undefined;

    this._onOffline = () => {
      clearTimeout(this._reconnectTimer); // no attempt while offline: "online" makes one
      this._reconnectTimer = undefined;
      if (this._ws !== null) this._drop(1006, "the browser is offline", false);
      else if (!this._closed) this._setState("disconnected");
    };
    this._onOnline = () => {
      if (!this._closed && this._ws === null) {
        clearTimeout(this._reconnectTimer);
        this._connect();
      }
    };
    this._watching =
      (options.watchNetwork ?? true) &&
      typeof window !== "undefined" &&
      typeof window.addEventListener === "function";
    if (this._watching) {
      window.addEventListener("offline", this._onOffline);
      window.addEventListener("online", this._onOnline);
    }
    const offline = typeof navigator !== "undefined" && navigator.onLine === false;
    if (this._watching && offline) {
      this._setState("disconnected"); // waits for "online"
    } else {
      this._connect();
    }
  }

  /**
   * The connection state.
   * @returns {HubState}
   */
  get state() {
    return this._state;
  }

  /**
   * Subscribe to `topic`: its publications go to `handlers.onMessage`, in order, once each,
   * from the last position this page saw of it (in this tab's session) or from now.
   * @param {string} topic
   * @param {SubscriptionHandlers} [handlers]
   * @returns {Subscription}
   * @throws {Error} the client is closed, or already subscribed to `topic`
   */
  subscribe(topic, handlers = {}) {
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(`a topic is a non-empty string, not ${JSON.stringify(topic)}`);
    }
    if (this._closed) throw new Error("this HubClient is closed");
    if (this._subscriptions.has(topic)) {
      throw new Error(`already subscribed to topic ${JSON.stringify(topic)}`);
    }
    const since = loadPosition(this._storage, this._key(topic));
    const subscription = new Subscription(this, topic, handlers, since);
    this._subscriptions.set(topic, subscription);
    if (this._state === "connected") this._sendSubscribe(subscription);
    return subscription;
  }

  /**
   * Publish `data` (anything JSON can carry) to `topic`.
   * @param {string} topic
   * @param {any} data
   * @param {{ timeout?: number }} [options] seconds to wait for the reply, queueing included
   * @returns {Promise<Position>} the message's position, once the server has published it
   * @throws {HubError} (the promise rejects) refused, failed, timed out or not sent
   */
  publish(topic, data, options = {}) {
    return this._command({ type: "publish", topic, data }, options.timeout);
  }

  /**
   * Call the route's rpc method `method` with `params`.
   * @param {string} method
   * @param {any} [params]
   * @param {{ timeout?: number }} [options] seconds to wait for the reply, queueing included
   * @returns {Promise<any>} the handler's result
   * @throws {HubError} (the promise rejects) unknown method (404), the handler failed (500),
   *   timed out or not sent
   */
  rpc(method, params = null, options = {}) {
    return this._command({ type: "rpc", method, params }, options.timeout);
  }

  /**
   * Who is in `topic` now: the presence values of its subscribers.
   * @param {string} topic
   * @param {{ timeout?: number }} [options]
   * @returns {Promise<any[]>}
   */
  async presence(topic, options = {}) {
    const result = await this._command({ type: "presence", topic }, options.timeout);
    return result.members;
  }

  /**
   * The messages of `topic` the Hub keeps: after `since` (all without it), at most `limit`.
   * @param {string} topic
   * @param {{ since?: Position | null, limit?: number | null, timeout?: number }} [options]
   * @returns {Promise<{ publications: { data: any, epoch: string, offset: number }[],
   *   epoch: string, offset: number }>}
   */
  history(topic, options = {}) {
    const command = {
      type: "history",
      topic,
      since: options.since ?? null,
      limit: options.limit ?? null,
    };
    return this._command(command, options.timeout);
  }

  /**
   * Close the connection for good: no reconnection, every waiting command rejects with a
   * {@link HubError} (`reason` "closed"), every subscription ends (their positions stay
   * stored, so a new client in this tab recovers). Idempotent.
   */
  close() {
    if (this._closed) return;
    this._stop(1000, "closed by the page", false);
  }

  // -- connection ------------------------------------------------------------------------------

  /** @returns {void} */
  _connect() {
    this._reconnectTimer = undefined;
    this._setState("connecting");
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new this._Socket(this.url, this._protocols);
    } catch (error) {
      // a malformed URL or a refused port: nothing to retry
      this._stop(1002, `cannot open ${this.url}: ${error}`, true);
      return;
    }
    this._ws = ws;
    ws.onmessage = (event) => this._receive(event.data);
    ws.onclose = (event) => {
      const reconnect = !isStopCode(event.code);
      this._drop(event.code, event.reason, reconnect);
    };
    ws.onerror = () => {}; // a close event follows
    this._expectWithin(this._connectTimeout, "no hello from the server");
  }

  /**
   * (Re)arm the liveness timer: without a message within `delay` seconds, the connection is
   * taken for dead, dropped, and made again.
   * @param {number} delay
   * @param {string} why
   */
  _expectWithin(delay, why) {
    clearTimeout(this._aliveTimer);
    this._aliveTimer = setTimeout(() => this._drop(1006, why, true), delay * 1000);
  }

  /**
   * The connection ended (or is given up): tell the page, reject the commands it carried, and
   * reconnect or stop.
   * @param {number} code
   * @param {string} reason
   * @param {boolean} reconnect connect again (after the backoff's delay, or at `online`)
   */
  _drop(code, reason, reconnect) {
    const ws = this._ws;
    if (ws === null) return;
    this._ws = null;
    ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(); // no wait for a dead peer's answer: the socket closes in the background
    } catch {
      // already closed
    }
    clearTimeout(this._aliveTimer);
    clearTimeout(this._stableTimer);
    this._aliveTimer = this._stableTimer = undefined;
    for (const subscription of this._subscriptions.values()) subscription.subscribed = false;
    this._subscribing.clear();
    for (const pending of [...this._pending.values()]) {
      if (pending.sent) {
        this._settle(pending.id);
        const what = "the connection was lost before the reply (the command may have been done)";
        pending.reject(new HubError("disconnected", 0, what));
      }
    }
    if (!reconnect) {
      if (isStopCode(code)) {
        this._stop(code, reason, true);
        return;
      }
      this._setState("disconnected"); // offline: the "online" event connects again
      this._emit("close", { code, reason, reconnect: false });
      return;
    }
    this._setState("disconnected");
    this._emit("close", { code, reason, reconnect: true });
    const delay = backoffDelay(this._attempt, this._minDelay, this._maxDelay, this._random);
    this._attempt += 1;
    this._reconnectTimer = setTimeout(() => this._connect(), delay * 1000);
  }

  /**
   * Stop for good: after a stop code, or `close()`.
   * @param {number} code
   * @param {string} reason
   * @param {boolean} byServer the server (or a failure) stopped it, not `close()`
   */
  _stop(code, reason, byServer) {
    const ws = this._ws;
    this._closed = true;
    if (ws !== null) {
      this._ws = null;
      ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    if (byServer) this.stopCode = code;
    clearTimeout(this._reconnectTimer);
    clearTimeout(this._aliveTimer);
    clearTimeout(this._stableTimer);
    if (this._watching) {
      window.removeEventListener("offline", this._onOffline);
      window.removeEventListener("online", this._onOnline);
    }
    for (const pending of [...this._pending.values()]) {
      this._settle(pending.id);
      pending.reject(new HubError("closed", 0, `the client stopped: ${code} ${reason}`.trim()));
    }
    for (const subscription of this._subscriptions.values()) {
      subscription.subscribed = false;
      subscription.closed = true;
    }
    this._subscriptions.clear();
    this._subscribing.clear();
    this._setState("disconnected");
    this._emit("close", { code, reason, reconnect: false });
  }

  /**
   * @param {HubState} state
   */
  _setState(state) {
    if (this._state === state) return;
    this._state = state;
    this._emit("state", state);
  }

  /**
   * @param {string} type
   * @param {unknown} detail
   */
  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // -- server messages -------------------------------------------------------------------------

  /**
   * @param {unknown} text
   */
  _receive(text) {
    /** @type {any} */
    let message;
    try {
      message = typeof text === "string" ? JSON.parse(text) : null;
    } catch {
      message = null;
    }
    if (message === null || typeof message !== "object") {
      this._drop(1002, "the server sent something that is not a JSON object", false);
      return;
    }
    if (this.pingInterval !== null) {
      this._expectWithin(this.pingInterval + this._pingGrace, "no ping from the server");
    }
    switch (message.type) {
      case "hello":
        this._hello(message);
        break;
      case "ping":
        this._send('{"type":"pong"}');
        break;
      case "publication":
        this._publication(message);
        break;
      case "subscribed":
        this._subscribed(message);
        break;
      case "reply":
        this._reply(message);
        break;
      case "error":
        this._error(message);
        break;
      case "join":
      case "leave":
        this._presenceEvent(message);
        break;
      default:
        break; // a message of a later minor version: ignored
    }
  }

  /**
   * @param {any} message
   */
  _hello(message) {
    if (message.version !== VERSION) {
      this._drop(1002, `the server speaks version ${message.version}, not ${VERSION}`, false);
      return;
    }
    const interval = message.ping_interval;
    this.pingInterval = typeof interval === "number" && interval > 0 ? interval : null;
    if (this.pingInterval === null) {
      clearTimeout(this._aliveTimer);
      this._aliveTimer = undefined;
    } else {
      this._expectWithin(this.pingInterval + this._pingGrace, "no ping from the server");
    }
    this._stableTimer = setTimeout(() => {
      this._attempt = 0;
    }, this._stableAfter * 1000);
    this._setState("connected");
    for (const subscription of this._subscriptions.values()) this._sendSubscribe(subscription);
    for (const pending of this._pending.values()) {
      if (!pending.sent && this._ws !== null) {
        pending.sent = true;
        this._send(pending.frame);
      }
    }
  }

  /**
   * @param {any} message
   */
  _publication(message) {
    const subscription = this._subscriptions.get(message.topic);
    if (subscription === undefined || !subscription.subscribed) return;
    const { epoch, offset } = message;
    const last = subscription.position;
    if (last !== null && last.epoch === epoch && offset <= last.offset) return; // seen
    this._advance(subscription, { epoch, offset });
    const handler = subscription.handlers.onMessage;
    if (handler) this._call(() => handler(message.data, { epoch, offset }));
  }

  /**
   * A `join` or `leave` message; one that carries a position is kept in order with the
   * publications (a repeat is dropped, the position advances).
   * @param {any} message
   */
  _presenceEvent(message) {
    const subscription = this._subscriptions.get(message.topic);
    if (subscription === undefined || !subscription.subscribed) return;
    const { epoch, offset } = message;
    if (typeof epoch === "string" && Number.isInteger(offset)) {
      const last = subscription.position;
      if (last !== null && last.epoch === epoch && offset <= last.offset) return; // seen
      this._advance(subscription, { epoch, offset });
    }
    const handlers = subscription.handlers;
    const handler = message.type === "join" ? handlers.onJoin : handlers.onLeave;
    if (handler) this._call(() => handler(message.member));
  }

  /**
   * @param {any} message
   */
  _subscribed(message) {
    const subscription = this._subscribing.get(message.id);
    if (subscription === undefined) return;
    this._subscribing.delete(message.id);
    if (subscription.closed) return;
    const wasRecovering = message.was_recovering === true;
    const recovered = message.recovered === true;
    const now = { epoch: message.epoch, offset: message.offset };
    // recovered: the missed publications follow, after the position the client gave; else the
    // subscription goes on from the topic's position now
    if (!(recovered && subscription.position !== null)) this._advance(subscription, now);
    subscription.subscribed = true;
    const handler = subscription.handlers.onSubscribed;
    const position = /** @type {Position} */ (subscription.position);
    if (handler) this._call(() => handler({ recovered, wasRecovering, position }));
  }

  /**
   * @param {any} message
   */
  _reply(message) {
    const pending = this._pending.get(message.id);
    if (pending === undefined) return;
    this._settle(pending.id);
    pending.resolve(message.result);
  }

  /**
   * @param {any} message
   */
  _error(message) {
    const code = typeof message.code === "number" ? message.code : 0;
    const error = new HubError("error", code, String(message.message ?? "error"));
    const subscription = this._subscribing.get(message.id);
    if (subscription !== undefined) {
      this._subscribing.delete(message.id);
      if (subscription.closed) return;
      if (code === 503) {
        // the Hub's backend is down for now: try the subscription again later
        const delay = backoffDelay(this._attempt, this._minDelay, this._maxDelay, this._random);
        setTimeout(() => {
          const current = this._subscriptions.get(subscription.topic);
          if (current === subscription && this._state === "connected" && !current.subscribed) {
            this._sendSubscribe(current);
          }
        }, delay * 1000);
        return;
      }
      subscription.closed = true;
      this._subscriptions.delete(subscription.topic);
      const handler = subscription.handlers.onError;
      if (handler) this._call(() => handler(error));
      else this._emit("error", error);
      return;
    }
    const pending = this._pending.get(message.id);
    if (pending === undefined) {
      this._emit("error", error);
      return;
    }
    this._settle(pending.id);
    pending.reject(error);
  }

  // -- commands --------------------------------------------------------------------------------

  /**
   * @param {Subscription} subscription
   */
  _sendSubscribe(subscription) {
    const id = this._nextId++;
    this._subscribing.set(id, subscription);
    const since = subscription.position;
    this._send(JSON.stringify({ type: "subscribe", id, topic: subscription.topic, since }));
  }

  /**
   * @param {Subscription} subscription
   */
  _unsubscribe(subscription) {
    if (subscription.closed) return;
    subscription.closed = true;
    subscription.subscribed = false;
    if (this._subscriptions.get(subscription.topic) === subscription) {
      this._subscriptions.delete(subscription.topic);
    }
    this._forget(subscription.topic);
    if (this._state === "connected") {
      const id = this._nextId++;
      this._send(JSON.stringify({ type: "unsubscribe", id, topic: subscription.topic }));
    }
  }

  /**
   * Send a command now, or queue it until connected.
   * @param {Record<string, unknown>} command
   * @param {number | undefined} timeout
   * @returns {Promise<any>}
   */
  _command(command, timeout) {
    if (this._closed) {
      return Promise.reject(new HubError("closed", 0, "this HubClient is closed"));
    }
    const connected = this._state === "connected";
    if (!connected && this._queued() >= this._maxQueue) {
      const what = `${this._maxQueue} commands already wait for a connection`;
      return Promise.reject(new HubError("queue_full", 0, what));
    }
    const wait = timeout ?? this._timeout;
    const id = this._nextId++;
    let frame;
    try {
      frame = JSON.stringify({ ...command, id });
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      /** @type {Pending} */
      const pending = { id, frame, sent: connected, resolve, reject, timer: undefined };
      pending.timer = setTimeout(() => {
        this._settle(id);
        const what = `no reply to ${command.type} within ${wait} s`;
        reject(new HubError("timeout", 0, what));
      }, wait * 1000);
      this._pending.set(id, pending);
      if (connected) this._send(frame);
    });
  }

  /** @returns {number} the commands waiting for a connection */
  _queued() {
    let count = 0;
    for (const pending of this._pending.values()) if (!pending.sent) count += 1;
    return count;
  }

  /**
   * A command is done with: forget it and its timer.
   * @param {number} id
   */
  _settle(id) {
    const pending = this._pending.get(id);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this._pending.delete(id);
  }

  /**
   * @param {string} frame
   */
  _send(frame) {
    const ws = this._ws;
    if (ws !== null && ws.readyState === 1) ws.send(frame);
  }

  // -- positions -------------------------------------------------------------------------------

  /**
   * @param {string} topic
   * @returns {string}
   */
  _key(topic) {
    return `${this._storageKey}#${topic}`;
  }

  /**
   * @param {Subscription} subscription
   * @param {Position} position
   */
  _advance(subscription, position) {
    subscription.position = position;
    if (this._storage === null) return;
    try {
      this._storage.setItem(this._key(subscription.topic), JSON.stringify(position));
    } catch {
      // storage full or refused: the position lives on in memory
    }
  }

  /**
   * @param {string} topic
   */
  _forget(topic) {
    if (this._storage === null) return;
    try {
      this._storage.removeItem(this._key(topic));
    } catch {
      // refused: nothing to forget
    }
  }

  /**
   * Run a page's callback; its error is reported, and never breaks the client.
   * @param {() => void} callback
   */
  _call(callback) {
    try {
      callback();
    } catch (error) {
      if (typeof reportError === "function") {
        reportError(error); // to the console and the window's "error" event, as if uncaught
      } else {
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}
