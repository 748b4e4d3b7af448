/**
 * The wall clock: the one place in `src/` that reads it (a Biome rule, `biome-plugins/no-wall-clock.grit`, refuses
 * `Date.now()` and `new Date()` anywhere else). Everything else takes the domain's `Clock` port, which this fits;
 * the composition root hands it in, and tests pass a clock they drive. It names no domain type so that `lib/`
 * stays a leaf that imports no other layer.
 */
export const systemClock = { now: (): number => Date.now() };
