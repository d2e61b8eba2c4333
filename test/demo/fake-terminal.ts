// A terminal screen to render the demo's live view into, deterministically: a fixed number of columns, the
// tty's newline translation (onlcr: "\n" is CR LF), auto-wrap at the last column as xterm does it (a
// character written in the last column leaves the cursor there, and the next character wraps first), and
// the cursor and erase sequences the view may use. Any other escape sequence fails the test, so a view that
// starts using one is checked against a terminal that knows it. The screen is unbounded in height (nothing
// scrolls off), so every row ever written and not erased stays visible to the test.
import { Writable } from 'node:stream';

export class FakeTerminal extends Writable {
  readonly isTTY = true;
  private readonly rows: string[][] = [[]];
  private row = 0;
  private col = 0;
  private wrapPending = false;

  constructor(readonly columns = 80) {
    super();
  }

  override _write(
    chunk: Buffer | string,
    _encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ): void {
    try {
      this.feed(chunk.toString());
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  }

  /** The screen's rows, trailing blanks trimmed, without trailing empty rows. */
  get screen(): string[] {
    const lines = this.rows.map((cells) => cells.join('').trimEnd());
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  feed(text: string): void {
    const chars = Array.from(text);
    for (let i = 0; i < chars.length; i++) {
      const char = chars[i];
      if (char === '\x1b') {
        if (chars[i + 1] !== '[') throw new Error(`unsupported escape: ESC ${chars[i + 1]}`);
        let j = i + 2;
        let params = '';
        while (j < chars.length && /[0-9;]/.test(chars[j])) params += chars[j++];
        const final = chars[j];
        if (final === undefined) throw new Error('escape sequence cut short');
        this.control(final, params);
        i = j;
      } else if (char === '\n') {
        this.lineFeed();
        this.col = 0;
      } else if (char === '\r') {
        this.col = 0;
        this.wrapPending = false;
      } else if (char < ' ') {
        throw new Error(`unsupported control character ${JSON.stringify(char)}`);
      } else {
        this.put(char);
      }
    }
  }

  private control(final: string, params: string): void {
    const n = params === '' ? 1 : Number(params);
    this.wrapPending = false;
    switch (final) {
      case 'A': // cursor up n rows, same column
        this.row = Math.max(0, this.row - n);
        return;
      case 'F': // cursor to the start of the row n up
        this.row = Math.max(0, this.row - n);
        this.col = 0;
        return;
      case 'J': // erase from the cursor to the end of the screen
        if (params !== '' && params !== '0') throw new Error(`unsupported erase ESC[${params}J`);
        this.rows[this.row].length = Math.min(this.rows[this.row].length, this.col);
        this.rows.length = this.row + 1;
        return;
      case 'K': // erase from the cursor to the end of the row
        if (params !== '' && params !== '0') throw new Error(`unsupported erase ESC[${params}K`);
        this.rows[this.row].length = Math.min(this.rows[this.row].length, this.col);
        return;
      default:
        throw new Error(`unsupported escape sequence ESC[${params}${final}`);
    }
  }

  private lineFeed(): void {
    this.wrapPending = false;
    this.row++;
    while (this.rows.length <= this.row) this.rows.push([]);
  }

  private put(char: string): void {
    if (this.wrapPending) {
      this.lineFeed();
      this.col = 0;
    }
    const cells = this.rows[this.row];
    while (cells.length < this.col) cells.push(' ');
    cells[this.col] = char;
    if (this.col === this.columns - 1) this.wrapPending = true;
    else this.col++;
  }
}
