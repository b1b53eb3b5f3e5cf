/**
 * JSON bodies that give one key twice. JSON.parse keeps the last value; a proxy, a gateway or the
 * caller's own validation may keep the first, so such a body means different things to different
 * readers (RFC 8259 leaves it to the parser; I-JSON, RFC 7493, forbids it). The API refuses it.
 */
import type { Request, RequestHandler } from 'express';
import { InvalidRequestError } from './errors';

const DUPLICATE = Symbol('duplicateJsonKey');

interface Frame {
  /** The keys seen so far; absent for an array. */
  keys?: Set<string>;
  /** The current key (objects) or element index (arrays). */
  at: string | number;
  path: string;
}

/**
 * The path of the first key an object of `text` repeats (`context.workItems.1.id`), compared after
 * unescaping (`"br\u0061nch"` is `branch`); undefined when there is none, or when `text` is not
 * JSON (the parser refuses that itself).
 */
export function firstDuplicateKey(text: string): string | undefined {
  const stack: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (end >= text.length) return undefined;
      if (expectKey && top?.keys) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          return undefined;
        }
        if (top.keys.has(key)) return join(top.path, printable(key));
        top.keys.add(key);
        top.at = key;
        expectKey = false;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      const path = top ? join(top.path, printable(String(top.at))) : '';
      stack.push(c === '{' ? { keys: new Set(), at: '', path } : { at: 0, path });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',' && top) {
      if (top.keys) expectKey = true;
      else top.at = (top.at as number) + 1;
    }
  }
  return undefined;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

// Keys are echoed back: short, and quoted when they hold anything but a plain name.
function printable(key: string): string {
  const clipped = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  return /^[A-Za-z0-9_$-]*$/.test(key) && clipped === key ? key : JSON.stringify(clipped);
}

/** For express.json's `verify`: notes a repeated key in the raw body (decoded, before parsing). */
export function noteDuplicateKeys(req: Request, _res: unknown, buf: Buffer, encoding: string): void {
  const path = firstDuplicateKey(buf.toString((encoding || 'utf8') as BufferEncoding));
  if (path !== undefined) (req as Request & { [DUPLICATE]?: string })[DUPLICATE] = path;
}

/** After express.json: a body that repeated a key is a 400 naming it. */
export const refuseDuplicateKeys: RequestHandler = (req, _res, next) => {
  const path = (req as Request & { [DUPLICATE]?: string })[DUPLICATE];
  if (path === undefined) {
    next();
    return;
  }
  next(new InvalidRequestError(`${path}: must not be given twice`, [{ path, message: 'must not be given twice' }]));
};
