/**
 * Seeded fault and fuzz injectors (STYLE.md item 9): wrappers around the pieces a hostile peer can touch,
 * off until a test, the fuzzer or a scenario turns them on. Every random choice comes from a `Prng`, so a
 * failing seed replays.
 *
 * | injector             | wraps                          | what it does                                       |
 * |----------------------|--------------------------------|----------------------------------------------------|
 * | RingSlotCorrupter    | a back ring's shared page      | rewrites request slot bytes at the ring barriers   |
 * | EventStorm           | an event channel port          | sends events in bursts or on a timer               |
 * | XenstoreFlapper      | a guest-writable xenstore key  | rewrites the key in a loop                         |
 * | GrantFlipper         | a guest's grant entries        | ends, downgrades, sub-pages, re-targets entries    |
 * | FailingPageAllocator | a domain kernel's allocator    | fails chosen (or random) page allocations          |
 *
 * Each plays the guest (or the kernel's allocator) through the same memory and calls the real one uses; none
 * reaches into a driver's private state to make it misbehave.
 */

export { RingSlotCorrupter, type CorruptWindow, type RingSlotCorrupterOptions } from './ring-corrupter.ts';
export { EventStorm } from './event-storm.ts';
export { XenstoreFlapper } from './xenstore-flapper.ts';
export { GrantFlipper, GRANT_MUTATIONS, type GrantMutation } from './grant-flipper.ts';
export { FailingPageAllocator } from './page-allocator.ts';
