import type { Request } from 'express';
import { failure, type Failure } from './sandbox.errors.js';

/** The largest request body the fake Concur reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/** v4 PATCHes are JSON Merge Patch documents (RFC 7386), sent as either media type; v3 PUTs are application/json. */
const JSON_TYPES = new Set(['application/json', 'application/merge-patch+json']);
const FORM_TYPE = 'application/x-www-form-urlencoded';

export type BodyRead<T> = { ok: true; value: T } | Failure;

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** Reads the raw body, at most `limit` bytes; undefined when it is longer. */
function readRaw(req: Request, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        // Answer at once; the rest of the body is read and dropped, so the answer can still be sent.
        done = true;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      if (!done) reject(error);
    });
    // A client that goes away before the end of its body ends the wait too.
    req.on('close', () => {
      if (!done && !req.readableEnded) {
        done = true;
        reject(new Error('the request was aborted before its body ended'));
      }
    });
  });
}

/**
 * Whether an app-wide body parser has read the body already (the connector's own parsers take
 * application/json and forms); what they leave unread (a merge-patch document) is read here.
 */
function alreadyRead(req: Request): boolean {
  return req.body !== undefined || req.readableEnded;
}

/** A JSON body: the media type, the size and the syntax checked, each refused with its own status. */
export async function readJsonBody(req: Request): Promise<BodyRead<unknown>> {
  if (!JSON_TYPES.has(mediaType(req))) {
    return failure(415, 'Content-Type must be application/json or application/merge-patch+json');
  }
  if (alreadyRead(req)) {
    return req.body === undefined ? failure(400, 'The request body is empty; a JSON document is required') : { ok: true, value: req.body };
  }
  const raw = await readRaw(req, MAX_BODY_BYTES);
  if (raw === undefined) return failure(413, `The request body is larger than ${MAX_BODY_BYTES} bytes`);
  const text = raw.toString('utf8');
  if (text.trim() === '') return failure(400, 'The request body is empty; a JSON document is required');
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return failure(400, 'The request body is not valid JSON');
  }
}

/**
 * The fields of an application/x-www-form-urlencoded body: a field sent twice becomes a list, as
 * the app-wide parser makes it. Any other media type carries no fields (so each reads as "not supplied").
 */
export async function readFormBody(req: Request): Promise<BodyRead<Record<string, unknown>>> {
  if (mediaType(req) !== FORM_TYPE) return { ok: true, value: {} };
  if (alreadyRead(req)) {
    const body: unknown = req.body;
    const parsed = typeof body === 'object' && body !== null && !Array.isArray(body);
    return { ok: true, value: parsed ? Object.fromEntries(Object.entries(body)) : {} };
  }
  const raw = await readRaw(req, MAX_BODY_BYTES);
  if (raw === undefined) return failure(413, `The request body is larger than ${MAX_BODY_BYTES} bytes`);
  // A Map, so a field named __proto__ is just a field.
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of new URLSearchParams(raw.toString('utf8'))) {
    const seen = fields.get(name);
    fields.set(name, seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]);
  }
  return { ok: true, value: Object.fromEntries(fields) };
}
