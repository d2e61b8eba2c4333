// Collects what the demo prints, as a non-TTY stream (the plain-lines mode CI logs get).
import { Writable } from 'node:stream';

export class CapturedOutput extends Writable {
  private readonly chunks: string[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk.toString());
    done();
  }

  get text(): string {
    return this.chunks.join('');
  }
}
