// A webhook receiver in Node.js with only the built-in `crypto` and `http` modules.
//
// It checks both signatures the service sends, over the RAW body bytes:
// - X-Whisperer-Signature: sha256=<hex HMAC-SHA256(secret, body)>  (whisperer-compatible; the body only)
// - webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>
//   (Standard Webhooks; also binds the delivery id and the time, so a captured request goes stale)
//
// Run:  WEBHOOK_SECRET='whsec_...' node receiver.mjs 8000      (or PORT=8000)
// Use:  import { verify } from "./receiver.mjs";

import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

export const TOLERANCE_SECONDS = 5 * 60; // how far webhook-timestamp may be from our clock, either way
const MAX_BODY_BYTES = 1024 * 1024;

export class InvalidDelivery extends Error {}

// A `whsec_` secret's key is its base64-decoded remainder; any other secret's key is its UTF-8 bytes.
export function standardWebhooksKey(secret) {
  return secret.startsWith("whsec_")
    ? Buffer.from(secret.slice("whsec_".length), "base64")
    : Buffer.from(secret, "utf8");
}

function lowercase(headers) {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
}

// X-Whisperer-Signature covers the body only: no timestamp, so dedupe on event.uuid.
export function verifyWhisperer(body, headers, secret) {
  const received = /^sha256=([0-9a-fA-F]{64})$/.exec(lowercase(headers)["x-whisperer-signature"] ?? "");
  if (!received) throw new InvalidDelivery("missing or malformed X-Whisperer-Signature");
  const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(body).digest();
  if (!timingSafeEqual(expected, Buffer.from(received[1], "hex"))) {
    throw new InvalidDelivery("X-Whisperer-Signature does not match");
  }
}

export function verifyStandard(body, headers, secret, { now = Date.now() / 1000, tolerance = TOLERANCE_SECONDS } = {}) {
  const lowered = lowercase(headers);
  const id = lowered["webhook-id"];
  const timestamp = lowered["webhook-timestamp"];
  const signatures = lowered["webhook-signature"];
  if (!id || !timestamp || !signatures) {
    throw new InvalidDelivery("missing webhook-id, webhook-timestamp or webhook-signature");
  }
  if (!/^[0-9]+$/.test(timestamp)) throw new InvalidDelivery("malformed webhook-timestamp");
  if (Math.abs(now - Number(timestamp)) > tolerance) {
    throw new InvalidDelivery("webhook-timestamp is too old or too new");
  }
  const signedContent = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, "utf8"), body]);
  const expected = createHmac("sha256", standardWebhooksKey(secret)).update(signedContent).digest();
  for (const versioned of signatures.split(" ")) { // a space-separated list: Standard Webhooks allows several
    const comma = versioned.indexOf(",");
    if (comma < 0 || versioned.slice(0, comma) !== "v1") continue;
    const candidate = Buffer.from(versioned.slice(comma + 1), "base64");
    if (candidate.length === expected.length && timingSafeEqual(expected, candidate)) return;
  }
  throw new InvalidDelivery("no webhook-signature matches");
}

// Verify both signatures over the raw body (a Buffer), then (and only then) parse it.
export function verify(body, headers, secret, options = {}) {
  verifyStandard(body, headers, secret, options);
  verifyWhisperer(body, headers, secret);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new InvalidDelivery("body is not JSON");
  }
}

// Deliveries already accepted, by event.uuid (= webhook-id). In production: a unique key in your database.
const seen = new Set();

function answer(response, status, text) {
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(text);
}

export function createReceiver(secret) {
  return createServer((request, response) => {
    if (request.method !== "POST") return answer(response, 405, "POST only");
    if (Number(request.headers["content-length"] ?? 0) > MAX_BODY_BYTES) return answer(response, 413, "too large");
    const chunks = [];
    let size = 0;
    request.on("error", () => response.destroy());
    request.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy(); // a body that lied about its length
      else chunks.push(chunk);
    });
    request.on("end", () => {
      const body = Buffer.concat(chunks); // the raw bytes: verify these, never a re-serialised copy
      let event;
      try {
        event = verify(body, request.headers, secret)?.event;
      } catch (error) {
        if (error instanceof InvalidDelivery) return answer(response, 401, error.message);
        console.error(error);
        return answer(response, 500, "internal error");
      }
      if (typeof event?.uuid !== "string") return answer(response, 400, "not a delivery");
      if (!seen.has(event.uuid)) {
        seen.add(event.uuid);
        // Answer first, work later: hand the delivery to a queue or worker here.
        console.log(`accepted ${event.type} ${event.uuid}`);
      } else {
        console.log(`duplicate ${event.type} ${event.uuid}`); // already handled: still 2xx
      }
      answer(response, 200, "ok");
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) {
    console.error("set WEBHOOK_SECRET to the hook's secret_key");
    process.exit(1);
  }
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8000);
  const server = createReceiver(secret);
  server.listen(port, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
}
