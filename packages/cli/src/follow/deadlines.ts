/**
 * Keys by the time they are due, earliest first (a binary heap). A key's deadline may be pushed
 * again later; only its latest push counts (`due` skips the stale ones), so moving a deadline costs
 * one push instead of a search.
 */
export class Deadlines {
  private readonly times: number[] = [];
  private readonly keys: string[] = [];
  private readonly latest = new Map<string, number>();

  /** Sets `key`'s deadline to `atUs`. */
  set(key: string, atUs: number): void {
    if (this.latest.get(key) === atUs) return;
    this.latest.set(key, atUs);
    this.times.push(atUs);
    this.keys.push(key);
    this.up(this.times.length - 1);
  }

  delete(key: string): void {
    this.latest.delete(key);
  }

  /** The earliest live deadline, or undefined. */
  peek(): number | undefined {
    this.dropStale();
    return this.times[0];
  }

  /** Removes and returns every key due at `nowUs` (deadline ≤ nowUs), earliest first. */
  due(nowUs: number): string[] {
    const found: string[] = [];
    for (;;) {
      this.dropStale();
      const time = this.times[0];
      if (time === undefined || time > nowUs) return found;
      const key = this.pop();
      this.latest.delete(key);
      found.push(key);
    }
  }

  get size(): number {
    return this.latest.size;
  }

  private dropStale(): void {
    while (this.times.length > 0) {
      const key = this.keys[0] as string;
      if (this.latest.get(key) === this.times[0]) return;
      this.pop();
    }
  }

  private pop(): string {
    const key = this.keys[0] as string;
    const lastTime = this.times.pop() as number;
    const lastKey = this.keys.pop() as string;
    if (this.times.length > 0) {
      this.times[0] = lastTime;
      this.keys[0] = lastKey;
      this.down(0);
    }
    return key;
  }

  private up(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.times[parent] as number) <= (this.times[i] as number)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(index: number): void {
    let i = index;
    const n = this.times.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && (this.times[left] as number) < (this.times[smallest] as number)) smallest = left;
      if (right < n && (this.times[right] as number) < (this.times[smallest] as number)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const time = this.times[a] as number;
    this.times[a] = this.times[b] as number;
    this.times[b] = time;
    const key = this.keys[a] as string;
    this.keys[a] = this.keys[b] as string;
    this.keys[b] = key;
  }
}
