/**
 * Ends a request whose body goes on well past ORCHESTRATOR_BODY_LIMIT. The JSON parser
 * (body-parser) refuses such a body at the limit but reads it to its end before it answers 413,
 * so a client streaming without end was read at line rate, unanswered (256 MB in 0.9 s over
 * loopback), until the request timeout. Counted on the socket (the request stream is the
 * parser's to read): past twice the limit (a compressed body's wire size is below its decoded
 * size, which is what the parser limits), the client is answered 413 and the connection closed.
 */
import type { Request, RequestHandler } from 'express';
import type { ErrorBody } from './http-errors';

/** How long the answer has to reach the client before the socket is destroyed (it is still sending). */
const LINGER_MS = 200;

export function cutRunawayBodies(limit: number): RequestHandler {
  const cutAt = 2 * limit;
  return (req, res, next) => {
    if (!hasBody(req)) {
      next();
      return;
    }
    const socket = req.socket;
    let received = 0;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= cutAt) return;
      stop();
      socket.pause(); // read no more of it
      const destroy = () => setTimeout(() => socket.destroy(), LINGER_MS).unref();
      if (res.headersSent) {
        destroy();
        return;
      }
      res.set('Connection', 'close');
      res.once('finish', destroy);
      res.status(413).json({ error: { code: 'payload_too_large', message: 'request body is too large' } } satisfies ErrorBody);
    };
    const stop = () => socket.off('data', count);
    socket.on('data', count);
    res.once('close', stop);
    req.once('end', stop);
    next();
  };
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
