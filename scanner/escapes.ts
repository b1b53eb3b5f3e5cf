/**
 * Text as a client that decodes escapes reads it. A transcript or an event is JSON, and a client
 * that shows a tool's JSON output, or the model's answer written as JSON, decodes it once more:
 * `"\u0067hp_…"` is then a GitHub token, which redaction did not see in the escaped text. URL
 * percent-encoding (`%67hp_…`) is decoded by whoever follows a link. Redaction scans this view too
 * and redacts, in the text as it is, the characters that spell a secret in the view.
 */

/** `\uXXXX` and `\/` of JSON (and JavaScript), `%XX` of URLs. */
const ESCAPE = /\\u([0-9a-fA-F]{4})|\\(\/)|%([0-9a-fA-F]{2})/g;

export interface UnescapedView {
  readonly text: string;
  /** `offsets[i]`: where the view's character `i` starts in the text; `offsets[text.length]` is the text's length. */
  readonly offsets: Int32Array;
}

/** The text with its escapes decoded, or undefined when it holds none. */
export function unescapedView(text: string): UnescapedView | undefined {
  ESCAPE.lastIndex = 0;
  if (!ESCAPE.test(text)) return undefined;
  ESCAPE.lastIndex = 0;
  let view = '';
  const offsets: number[] = [];
  let at = 0;
  const keep = (end: number): void => {
    for (let i = at; i < end; i++) offsets.push(i);
    view += text.slice(at, end);
  };
  for (let m = ESCAPE.exec(text); m !== null; m = ESCAPE.exec(text)) {
    keep(m.index);
    const hex = m[1] ?? m[3];
    view += hex === undefined ? '/' : String.fromCharCode(parseInt(hex, 16));
    offsets.push(m.index);
    at = m.index + m[0].length;
  }
  keep(text.length);
  offsets.push(text.length);
  return { text: view, offsets: Int32Array.from(offsets) };
}
