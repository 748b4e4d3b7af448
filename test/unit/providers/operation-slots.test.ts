import { OperationSlots } from '../../../src/providers/operation-slots';

/** A piece of work that runs until the test ends it. */
function pending() {
  let end: (value: string) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const done = new Promise<string>((resolve, reject) => {
    end = resolve;
    fail = reject;
  });
  return { done, end, fail };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('OperationSlots', () => {
  it('runs at most its size at once; the others wait, in the order they came, and get the work’s result', async () => {
    const slots = new OperationSlots(2);
    const works = [pending(), pending(), pending(), pending()];
    const started: number[] = [];
    const results = works.map((work, index) =>
      slots.use(() => {
        started.push(index);
        return work.done;
      }),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    expect(slots.underWay).toBe(2);

    works[1]?.end('one');
    await settle();
    expect(started).toEqual([0, 1, 2]);
    expect(slots.underWay).toBe(2);

    works[0]?.end('zero');
    works[2]?.end('two');
    works[3]?.end('three');
    expect(await Promise.all(results)).toEqual(['zero', 'one', 'two', 'three']);
    expect(slots.underWay).toBe(0);
  });

  it('frees the slot of work that fails, and passes the failure on', async () => {
    const slots = new OperationSlots(1);
    const failing = pending();
    const first = slots.use(() => failing.done);
    const second = slots.use(async () => 'after');
    failing.fail(new Error('AWS said no'));
    await expect(first).rejects.toThrow('AWS said no');
    await expect(second).resolves.toBe('after');
    expect(slots.underWay).toBe(0);
  });

  it('refuses a size that is not a whole number of at least 1', () => {
    expect(() => new OperationSlots(0)).toThrow(RangeError);
    expect(() => new OperationSlots(1.5)).toThrow(RangeError);
  });
});
