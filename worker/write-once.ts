/** A file written once and never replaced, safe with several processes starting at once. */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes `content` to `file` unless it exists, and returns what the file holds: the first writer's content. */
export function writeOnce(file: string, content: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, content);
  try {
    // A hard link appears whole or not at all: of two processes starting at once, the first one's content stands.
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(file, 'utf8');
}
