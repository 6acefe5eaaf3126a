// The browser client (fastrapi/static/hub.js) in Node against a fake WebSocket and Node's mock
// timers: the protocol's client side, message by message, with no server and no wall clock.
// node --test tests/browser/hub.test.mjs (tests/browser/test_hub_js.py runs it).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import {
  HubClient,
  HubError,
  RECONNECT_CODES,
  STOP_CODES,
  SUBPROTOCOL,
  backoffDelay,
  isStopCode,
} from "../../fastrapi/static/hub.js";

/** A seeded random in [0, 1) (mulberry32), so that every jitter is known in advance. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A WebSocket whose server side the test plays. */
class FakeSocket {
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    this.closedByClient = false;
    this.onmessage = this.onclose = this.onerror = null;
    FakeSocket.all.push(this);
  }
  send(text) {
    assert.equal(this.readyState, 1, "send() on a socket that is not open");
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.closedByClient = true;
    this.readyState = 3;
  }
  // the server's side
  open(hello = { type: "hello", version: 1, ping_interval: 25 }) {
    this.readyState = 1;
    if (hello) this.message(hello);
  }
  message(object) {
    this.onmessage?.({ data: typeof object === "string" ? object : JSON.stringify(object) });
  }
  serverClose(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  /** The commands sent since the last call, pongs left out. */
  take() {
    const sent = this.sent.filter((command) => command.type !== "pong");
    this.sent = [];
    return sent;
  }
}

/** A Storage in memory. */
class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }
  setItem(key, value) {
    this.map.set(key, String(value));
  }
  removeItem(key) {
    this.map.delete(key);
  }
}

function last() {
  return FakeSocket.all.at(-1);
}

function client(options = {}) {
  const hub = new HubClient("ws://server/realtime", {
    WebSocket: FakeSocket,
    storage: null,
    random: seeded(1),
    ...options,
  });
  const states = [];
  const closes = [];
  hub.addEventListener("state", (event) => states.push(event.detail));
  hub.addEventListener("close", (event) => closes.push(event.detail));
  return { hub, states, closes };
}

/** Let the promise callbacks run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  FakeSocket.all = [];
  mock.timers.enable({ apis: ["setTimeout", "setImmediate"] });
});

afterEach(() => {
  mock.timers.reset();
});

describe("connecting", () => {
  test("offers the subprotocol and is connected after the server's hello", () => {
    const { hub, states } = client();
    assert.equal(hub.state, "connecting");
    assert.deepEqual(last().protocols, [SUBPROTOCOL]);
    assert.equal(last().url, "ws://server/realtime");
    last().open();
    assert.equal(hub.state, "connected");
    assert.equal(hub.pingInterval, 25);
    assert.deepEqual(states, ["connected"]); // "connecting" was before the listener
    hub.close();
    assert.equal(hub.state, "disconnected");
    assert.ok(last().closedByClient);
  });

  test("offers the page's subprotocols after its own (a bearer token)", () => {
    const { hub } = client({ protocols: ["bearer", "t0ken"] });
    assert.deepEqual(last().protocols, [SUBPROTOCOL, "bearer", "t0ken"]);
    hub.close();
  });

  test("a hello of another version stops the client", () => {
    const { hub, closes } = client();
    last().open({ type: "hello", version: 2, ping_interval: 25 });
    assert.equal(hub.state, "disconnected");
    assert.equal(hub.stopCode, 1002);
    assert.match(closes.at(-1).reason, /version 2/);
    mock.timers.tick(60_000);
    assert.equal(FakeSocket.all.length, 1);
  });

  test("a frame that is not JSON stops the client", () => {
    const { hub } = client();
    last().open();
    last().message("{not json");
    assert.equal(hub.stopCode, 1002);
    assert.equal(hub.state, "disconnected");
  });

  test("bad options are refused", () => {
    const make = (options) => () => new HubClient("ws://x/", { WebSocket: FakeSocket, ...options });
    assert.throws(make({ minReconnectDelay: 0 }), RangeError);
    assert.throws(make({ minReconnectDelay: 5, maxReconnectDelay: 1 }), RangeError);
    assert.throws(make({ timeout: -1 }), RangeError);
    assert.throws(make({ pingGrace: "5" }), RangeError);
    assert.throws(() => new HubClient("ws://x/", { WebSocket: undefined }), TypeError);
  });

  test("no hello within connectTimeout: dropped and made again", () => {
    const { hub, closes } = client({ connectTimeout: 2, minReconnectDelay: 1 });
    last().open(null);
    mock.timers.tick(1999);
    assert.equal(FakeSocket.all.length, 1);
    mock.timers.tick(1);
    assert.ok(FakeSocket.all[0].closedByClient);
    assert.deepEqual(closes, [{ code: 1006, reason: "no hello from the server", reconnect: true }]);
    mock.timers.tick(1000); // the first backoff window
    assert.equal(FakeSocket.all.length, 2);
    hub.close();
  });
});

describe("subscriptions", () => {
  test("delivers in order, once each, and resubscribes from the last position", () => {
    const { hub } = client();
    const got = [];
    const subscribed = [];
    hub.subscribe("room", {
      onMessage: (data, position) => got.push([data, position.offset]),
      onSubscribed: (info) => subscribed.push(info),
    });
    let ws = last();
    ws.open();
    assert.deepEqual(ws.take(), [{ type: "subscribe", id: 1, topic: "room", since: null }]);
    ws.message({
      type: "subscribed",
      id: 1,
      topic: "room",
      epoch: "e",
      offset: 3,
      was_recovering: false,
      recovered: false,
    });
    const publication = (offset) => ({ type: "publication", topic: "room", data: offset, epoch: "e", offset });
    for (const offset of [4, 5, 5, 3, 6]) ws.message(publication(offset));
    ws.message({ type: "publication", topic: "other", data: 9, epoch: "e", offset: 9 });
    assert.deepEqual(got, [[4, 4], [5, 5], [6, 6]]);
    ws.serverClose(1012, "restart");
    assert.equal(hub.state, "disconnected");
    mock.timers.tick(100);
    ws = last();
    assert.notEqual(ws, FakeSocket.all[0]);
    ws.open();
    assert.deepEqual(ws.take(), [
      { type: "subscribe", id: 2, topic: "room", since: { epoch: "e", offset: 6 } },
    ]);
    ws.message({
      type: "subscribed",
      id: 2,
      topic: "room",
      epoch: "e",
      offset: 6,
      was_recovering: true,
      recovered: true,
    });
    for (const offset of [6, 7, 8]) ws.message(publication(offset));
    assert.deepEqual(got.map(([data]) => data), [4, 5, 6, 7, 8]);
    assert.deepEqual(subscribed, [
      { recovered: false, wasRecovering: false, position: { epoch: "e", offset: 3 } },
      { recovered: true, wasRecovering: true, position: { epoch: "e", offset: 6 } },
    ]);
    hub.close();
  });

  test("a gap (recovered: false) goes on from the topic's position now, in its epoch", () => {
    const { hub } = client();
    const got = [];
    const subscribed = [];
    hub.subscribe("room", {
      onMessage: (data) => got.push(data),
      onSubscribed: ({ recovered, wasRecovering }) => subscribed.push([recovered, wasRecovering]),
    });
    let ws = last();
    ws.open();
    ws.message({ type: "subscribed", id: 1, topic: "room", epoch: "a", offset: 10, was_recovering: false, recovered: false });
    ws.message({ type: "publication", topic: "room", data: "a11", epoch: "a", offset: 11 });
    ws.serverClose(1006);
    mock.timers.tick(100);
    ws = last();
    ws.open();
    assert.deepEqual(ws.take()[0].since, { epoch: "a", offset: 11 });
    // the server restarted: a new epoch, whose offsets start again
    ws.message({ type: "subscribed", id: 2, topic: "room", epoch: "b", offset: 0, was_recovering: true, recovered: false });
    ws.message({ type: "publication", topic: "room", data: "b1", epoch: "b", offset: 1 });
    assert.deepEqual(got, ["a11", "b1"]);
    assert.deepEqual(subscribed, [[false, false], [false, true]]);
    hub.close();
  });

  test("nothing is delivered before the subscription is confirmed, nor after unsubscribe", () => {
    const { hub } = client();
    const got = [];
    const sub = hub.subscribe("room", { onMessage: (data) => got.push(data) });
    const ws = last();
    ws.open();
    ws.take();
    ws.message({ type: "publication", topic: "room", data: "early", epoch: "e", offset: 1 });
    ws.message({ type: "subscribed", id: 1, topic: "room", epoch: "e", offset: 1, was_recovering: false, recovered: false });
    ws.message({ type: "publication", topic: "room", data: "in", epoch: "e", offset: 2 });
    sub.unsubscribe();
    sub.unsubscribe(); // idempotent
    assert.deepEqual(ws.take(), [{ type: "unsubscribe", id: 2, topic: "room" }]);
    ws.message({ type: "publication", topic: "room", data: "late", epoch: "e", offset: 3 });
    assert.deepEqual(got, ["in"]);
    assert.equal(sub.closed, true);
    // the topic may be subscribed again
    hub.subscribe("room", {});
    assert.deepEqual(ws.take(), [{ type: "subscribe", id: 3, topic: "room", since: null }]);
    hub.close();
  });

  test("a topic is subscribed once per client; a topic is a non-empty string", () => {
    const { hub } = client();
    hub.subscribe("room");
    assert.throws(() => hub.subscribe("room"), /already subscribed/);
    assert.throws(() => hub.subscribe(""), TypeError);
    assert.throws(() => hub.subscribe(7), TypeError);
    hub.close();
    assert.throws(() => hub.subscribe("other"), /closed/);
  });

  test("a refused subscription is told to onError and ends; the connection stays", () => {
    const { hub, states } = client();
    const errors = [];
    const sub = hub.subscribe("secret", { onError: (error) => errors.push(error) });
    const ws = last();
    ws.open();
    ws.take();
    ws.message({ type: "error", id: 1, code: 403, message: "subscription of topic 'secret' refused" });
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof HubError);
    assert.deepEqual([errors[0].reason, errors[0].code], ["error", 403]);
    assert.equal(sub.closed, true);
    assert.equal(hub.state, "connected");
    assert.deepEqual(states, ["connected"]);
    ws.serverClose(1012);
    mock.timers.tick(100);
    last().open();
    assert.deepEqual(last().take(), []); // not asked again
    hub.close();
  });

  test("a subscription the Hub could not make for now (503) is tried again", () => {
    const { hub } = client();
    hub.subscribe("room", {});
    const ws = last();
    ws.open();
    ws.take();
    ws.message({ type: "error", id: 1, code: 503, message: "redis is down" });
    mock.timers.tick(100);
    assert.deepEqual(ws.take(), [{ type: "subscribe", id: 2, topic: "room", since: null }]);
    hub.close();
  });

  test("a callback that throws does not break the client; its error is reported", (t) => {
    const reported = [];
    globalThis.reportError = (error) => reported.push(error); // the browser's
    t.after(() => delete globalThis.reportError);
    const { hub } = client();
    const got = [];
    hub.subscribe("room", {
      onMessage(data) {
        got.push(data);
        throw new Error("page bug");
      },
    });
    const ws = last();
    ws.open();
    ws.message({ type: "subscribed", id: 1, topic: "room", epoch: "e", offset: 0, was_recovering: false, recovered: false });
    ws.message({ type: "publication", topic: "room", data: 1, epoch: "e", offset: 1 });
    ws.message({ type: "publication", topic: "room", data: 2, epoch: "e", offset: 2 });
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(reported.map((error) => error.message), ["page bug", "page bug"]);
    hub.close();
  });

  test("join and leave messages reach onJoin and onLeave", () => {
    const { hub } = client();
    const seen = [];
    hub.subscribe("room", {
      onJoin: (member) => seen.push(["join", member]),
      onLeave: (member) => seen.push(["leave", member]),
    });
    const ws = last();
    ws.open();
    ws.message({ type: "subscribed", id: 1, topic: "room", epoch: "e", offset: 0, was_recovering: false, recovered: false });
    ws.message({ type: "join", topic: "room", member: { name: "ann" } });
    ws.message({ type: "leave", topic: "room", member: { name: "ann" } });
    ws.message({ type: "join", topic: "elsewhere", member: { name: "bob" } });
    ws.message({ type: "unknown-later-type" });
    assert.deepEqual(seen, [["join", { name: "ann" }], ["leave", { name: "ann" }]]);
    // with a position, they keep their place among the publications: a repeat is dropped
    ws.message({ type: "join", topic: "room", member: { name: "cat" }, epoch: "e", offset: 1 });
    ws.message({ type: "join", topic: "room", member: { name: "cat" }, epoch: "e", offset: 1 });
    assert.deepEqual(seen.at(-1), ["join", { name: "cat" }]);
    assert.equal(seen.length, 3);
    ws.serverClose(1012);
    mock.timers.tick(100);
    last().open();
    assert.deepEqual(last().take()[0].since, { epoch: "e", offset: 1 });
    hub.close();
  });

  test("positions are kept in storage: a new client (a reload) recovers from them", () => {
    const storage = new MemoryStorage();
    const first = client({ storage }).hub;
    const sub = first.subscribe("room", {});
    let ws = last();
    ws.open();
    ws.message({ type: "subscribed", id: 1, topic: "room", epoch: "e", offset: 4, was_recovering: false, recovered: false });
    ws.message({ type: "publication", topic: "room", data: 1, epoch: "e", offset: 5 });
    first.close();
    assert.equal(sub.closed, true);
    const second = client({ storage }).hub;
    second.subscribe("room", {});
    ws = last();
    ws.open();
    assert.deepEqual(ws.take()[0].since, { epoch: "e", offset: 5 });
    // unsubscribing forgets it
    second.subscribe("other", {}).unsubscribe();
    second._subscriptions.get("room").unsubscribe();
    assert.deepEqual([...storage.map.keys()], []);
    second.close();
    // a stored value that is not a position is ignored
    storage.setItem("fastrapi.hub:ws://server/realtime#room", '{"epoch": 1}');
    const third = client({ storage }).hub;
    third.subscribe("room", {});
    last().open();
    assert.equal(last().take()[0].since, null);
    third.close();
  });
});

describe("commands", () => {
  test("publish resolves with the reply's position; an error reply rejects it", async () => {
    const { hub } = client();
    const ws = last();
    ws.open();
    const published = hub.publish("room", { text: "hi" });
    const refused = hub.publish("ro", 1);
    assert.deepEqual(ws.take(), [
      { type: "publish", id: 1, topic: "room", data: { text: "hi" } },
      { type: "publish", id: 2, topic: "ro", data: 1 },
    ]);
    ws.message({ type: "error", id: 2, code: 403, message: "publishing of topic 'ro' refused" });
    ws.message({ type: "reply", id: 1, result: { epoch: "e", offset: 1 } });
    assert.deepEqual(await published, { epoch: "e", offset: 1 });
    await assert.rejects(refused, (error) => error instanceof HubError && error.code === 403 && error.reason === "error");
    assert.equal(hub.state, "connected");
    hub.close();
  });

  test("rpc, presence and history send their commands and give their results", async () => {
    const { hub } = client();
    const ws = last();
    ws.open();
    const rpc = hub.rpc("who", { x: 1 });
    const presence = hub.presence("room");
    const history = hub.history("room", { since: { epoch: "e", offset: 1 }, limit: 2 });
    const unknown = hub.rpc("nope");
    assert.deepEqual(ws.take(), [
      { type: "rpc", id: 1, method: "who", params: { x: 1 } },
      { type: "presence", id: 2, topic: "room" },
      { type: "history", id: 3, topic: "room", since: { epoch: "e", offset: 1 }, limit: 2 },
      { type: "rpc", id: 4, method: "nope", params: null },
    ]);
    ws.message({ type: "reply", id: 1, result: { topics: [] } });
    ws.message({ type: "reply", id: 2, result: { members: [{ name: "ann" }] } });
    ws.message({ type: "reply", id: 3, result: { publications: [], epoch: "e", offset: 1 } });
    ws.message({ type: "error", id: 4, code: 404, message: "no rpc method 'nope'" });
    assert.deepEqual(await rpc, { topics: [] });
    assert.deepEqual(await presence, [{ name: "ann" }]);
    assert.deepEqual(await history, { publications: [], epoch: "e", offset: 1 });
    await assert.rejects(unknown, { code: 404 });
    hub.close();
  });

  test("no reply within the timeout: rejected; a late reply is ignored", async () => {
    const { hub } = client({ timeout: 3 });
    last().open();
    const slow = hub.rpc("slow", null, { timeout: 1 });
    const slower = hub.rpc("slow");
    mock.timers.tick(1000);
    await assert.rejects(slow, { reason: "timeout", code: 0 });
    mock.timers.tick(2000);
    await assert.rejects(slower, { reason: "timeout" });
    last().message({ type: "reply", id: 1, result: "late" });
    assert.equal(hub.state, "connected");
    hub.close();
  });

  test("commands wait for a connection, in order, at most maxQueue of them", async () => {
    const { hub } = client({ maxQueue: 2, timeout: 30 });
    const first = hub.publish("room", 1);
    const second = hub.publish("room", 2);
    await assert.rejects(hub.publish("room", 3), { reason: "queue_full" });
    const ws = last();
    ws.open();
    assert.deepEqual(ws.take().map((command) => command.data), [1, 2]);
    ws.message({ type: "reply", id: 1, result: { epoch: "e", offset: 1 } });
    ws.message({ type: "reply", id: 2, result: { epoch: "e", offset: 2 } });
    assert.deepEqual([await first, await second].map((p) => p.offset), [1, 2]);
    hub.close();
  });

  test("a queued command that times out is never sent", async () => {
    const { hub } = client({ timeout: 1 });
    const publish = hub.publish("room", "stale");
    mock.timers.tick(1000);
    await assert.rejects(publish, { reason: "timeout" });
    last().open();
    assert.deepEqual(last().take(), []);
    hub.close();
  });

  test("a command sent on a connection that is lost rejects as disconnected", async () => {
    const { hub } = client();
    last().open();
    const publish = hub.publish("room", 1);
    last().serverClose(1006);
    await assert.rejects(publish, { reason: "disconnected" });
    mock.timers.tick(100);
    last().open();
    assert.deepEqual(last().take(), []); // not sent twice
    hub.close();
  });

  test("close() rejects what waits, and later commands at once", async () => {
    const { hub } = client();
    const queued = hub.publish("room", 1);
    hub.close();
    hub.close(); // idempotent
    await assert.rejects(queued, { reason: "closed" });
    await assert.rejects(hub.rpc("x"), { reason: "closed" });
    assert.equal(hub.stopCode, null);
  });

  test("data JSON cannot carry rejects at once", async () => {
    const { hub } = client();
    last().open();
    await assert.rejects(hub.publish("room", 10n), TypeError);
    hub.close();
  });
});

describe("heartbeat", () => {
  test("pings are answered; none for ping_interval + grace: dropped and reconnected", () => {
    const { hub, closes } = client({ pingGrace: 1 });
    const ws = last();
    ws.open({ type: "hello", version: 1, ping_interval: 2 });
    mock.timers.tick(2000);
    ws.message({ type: "ping" });
    assert.deepEqual(ws.sent, [{ type: "pong" }]);
    mock.timers.tick(2999);
    assert.equal(hub.state, "connected");
    mock.timers.tick(1);
    assert.equal(hub.state, "disconnected");
    assert.ok(ws.closedByClient);
    assert.deepEqual(closes, [{ code: 1006, reason: "no ping from the server", reconnect: true }]);
    mock.timers.tick(100);
    assert.equal(FakeSocket.all.length, 2);
    hub.close();
  });

  test("a server without pings (ping_interval null) is not timed", () => {
    const { hub } = client({ pingGrace: 1 });
    last().open({ type: "hello", version: 1, ping_interval: null });
    mock.timers.tick(600_000);
    assert.equal(hub.state, "connected");
    hub.close();
  });
});

describe("close codes", () => {
  test("the contract's codes", () => {
    for (const code of [1001, 1006, 1008, 1011, 1012, 1013]) {
      assert.ok(RECONNECT_CODES.has(code) && !isStopCode(code), code);
    }
    for (const code of [1000, 1002, 1003, 1007, 1009, 4400, 4401, 4403, 4500, 4999]) {
      assert.ok(isStopCode(code), code);
    }
    assert.ok(STOP_CODES.has(4401));
    assert.ok(!isStopCode(1005) && !isStopCode(4000) && !isStopCode(5000));
  });

  for (const code of [1000, 4401, 4403, 4400, 4567]) {
    test(`${code} stops the client and tells the page`, async () => {
      const { hub, closes } = client();
      const sub = hub.subscribe("room", {});
      last().open();
      const queued = hub.rpc("x");
      last().serverClose(code, "why");
      await assert.rejects(queued, { reason: "disconnected" });
      assert.equal(hub.state, "disconnected");
      assert.equal(hub.stopCode, code);
      assert.equal(sub.closed, true);
      assert.deepEqual(closes, [{ code, reason: "why", reconnect: false }]);
      mock.timers.tick(600_000);
      assert.equal(FakeSocket.all.length, 1);
      await assert.rejects(hub.publish("room", 1), { reason: "closed" });
    });
  }

  for (const code of [1001, 1006, 1008, 1011, 1012, 1013, 1005]) {
    test(`${code} reconnects`, () => {
      const { hub, closes } = client();
      last().open();
      last().serverClose(code);
      assert.deepEqual(closes, [{ code, reason: "", reconnect: true }]);
      mock.timers.tick(100);
      assert.equal(FakeSocket.all.length, 2);
      hub.close();
    });
  }
});

describe("backoff", () => {
  test("full jitter under an exponential ceiling", () => {
    assert.equal(backoffDelay(0, 0.5, 10, () => 0.999), 0.4995);
    assert.equal(backoffDelay(3, 0.5, 10, () => 0.5), 2);
    assert.equal(backoffDelay(10, 0.5, 10, () => 0.5), 5);
    assert.equal(backoffDelay(5000, 0.5, 10, () => 0.5), 5);
    assert.equal(backoffDelay(2, 0.5, 10, () => 0), 0);
  });

  test("each failed attempt doubles the window; stableAfter connected starts it again", () => {
    const random = () => 0.999;
    const { hub } = client({ random, minReconnectDelay: 1, maxReconnectDelay: 8, stableAfter: 10 });
    const waits = [];
    const fail = () => {
      const before = FakeSocket.all.length;
      last().serverClose(1006);
      let waited = 0;
      while (FakeSocket.all.length === before) {
        mock.timers.tick(1);
        waited += 1;
      }
      waits.push(waited);
    };
    for (let n = 0; n < 5; n++) fail();
    assert.deepEqual(waits, [999, 1998, 3996, 7992, 7992]);
    last().open();
    mock.timers.tick(9999);
    fail(); // connected for less than stableAfter: the window stays
    assert.deepEqual(waits.at(-1), 7992);
    last().open();
    mock.timers.tick(10_000);
    fail();
    assert.deepEqual(waits.at(-1), 999);
    hub.close();
  });

  test("500 clients of a killed worker come back spread over the window", () => {
    // every client is connected and subscribed; the worker dies: all see 1006 at once
    const random = seeded(20);
    const clients = [];
    for (let n = 0; n < 500; n++) {
      clients.push(client({ random, minReconnectDelay: 1, maxReconnectDelay: 30 }).hub);
      last().open();
    }
    const sockets = FakeSocket.all.length;
    for (const ws of FakeSocket.all.slice()) ws.serverClose(1006);
    const times = [];
    for (let ms = 1; ms <= 1000; ms++) {
      mock.timers.tick(1);
      const opened = FakeSocket.all.length - sockets - times.length;
      for (let k = 0; k < opened; k++) times.push(ms);
    }
    assert.equal(times.length, 500);
    const buckets = Array(10).fill(0); // 100 ms each
    for (const ms of times) buckets[Math.min(9, Math.floor((ms - 1) / 100))] += 1;
    const perMs = new Map();
    for (const ms of times) perMs.set(ms, (perMs.get(ms) ?? 0) + 1);
    const busiestMs = Math.max(...perMs.values());
    // uniform over the first window, not one burst: no 100 ms holds more than 1.5x its share
    assert.ok(Math.max(...buckets) <= 75, buckets);
    assert.ok(Math.min(...buckets) >= 25, buckets);
    assert.ok(times[0] < 20 && times.at(-1) > 980, [times[0], times.at(-1)]);
    console.log(`# spread: first ${times[0]} ms, last ${times.at(-1)} ms, per 100 ms ${buckets}, at most ${busiestMs} in one ms`);
    for (const hub of clients) hub.close();
  });
});

describe("the network", () => {
  let window;
  beforeEach(() => {
    window = new EventTarget();
    globalThis.window = window;
  });
  afterEach(() => {
    delete globalThis.window;
  });

  test("offline closes at once and waits; online connects at once", () => {
    const { hub, closes } = client();
    last().open();
    window.dispatchEvent(new Event("offline"));
    assert.equal(hub.state, "disconnected");
    assert.ok(FakeSocket.all[0].closedByClient);
    assert.deepEqual(closes, [{ code: 1006, reason: "the browser is offline", reconnect: false }]);
    mock.timers.tick(600_000);
    assert.equal(FakeSocket.all.length, 1);
    window.dispatchEvent(new Event("online"));
    assert.equal(FakeSocket.all.length, 2);
    assert.equal(hub.state, "connecting");
    hub.close();
    window.dispatchEvent(new Event("online")); // closed: its listeners are gone
    assert.equal(FakeSocket.all.length, 2);
  });

  test("offline while waiting to reconnect cancels the attempt", () => {
    const { hub } = client();
    last().open();
    last().serverClose(1012);
    window.dispatchEvent(new Event("offline"));
    mock.timers.tick(600_000);
    assert.equal(FakeSocket.all.length, 1);
    window.dispatchEvent(new Event("online"));
    assert.equal(FakeSocket.all.length, 2);
    hub.close();
  });

  test("watchNetwork: false ignores the events", () => {
    const { hub } = client({ watchNetwork: false });
    last().open();
    window.dispatchEvent(new Event("offline"));
    assert.equal(hub.state, "connected");
    hub.close();
  });
});
