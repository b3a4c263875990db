/**
 * Fixtures for the swap-over-network component suites: a small but complete SwapWorld (the real allocator,
 * stack, NIC, client, server, reclaim and workload, wired as the scenario wires them), and helpers to step it
 * and to end a test with the teardown audit.
 */
import * as assert from 'uvu/assert';
import { defaultSwapParams, withParams, type SwapMode, type SwapParams } from '../../../src/sim/swap/params.ts';
import { buildSwapWorld, teardownSwapWorld, type SwapWorld } from '../../../src/sim/swap/world.ts';
import { swapStep } from '../../../src/sim/swap/scenario.ts';

/** A 2048-page domain with short rings, a small flood and a small workload: fast, every path reachable. */
export function smallParams(over: Partial<SwapParams> = {}): SwapParams {
  return withParams(defaultSwapParams(), {
    totalPages: 2048,
    ringSize: 32,
    napiBudget: 8,
    netdevBudget: 32,
    maxInFlight: 4,
    swapQueueMax: 16,
    floodFrames: 16,
    floodRcvbuf: 1 << 20,
    anonPerStep: 16,
    targetPages: 4096,
    reclaimers: 2,
    steps: 2000,
    ntaPoolPages: 128,
    ...over,
  });
}

export function smallWorld(mode: SwapMode = 'mainline', over: Partial<SwapParams> = {}, seed = 1): SwapWorld {
  return buildSwapWorld(smallParams(over), mode, seed);
}

/** Run steps [from, to) of `w`. */
export function steps(w: SwapWorld, from: number, to: number): void {
  for (let t = from; t < to; t++) swapStep(w, t);
}

/** The end of every world test: everything given back, the audits clean. */
export function endWorld(w: SwapWorld): void {
  assert.equal(teardownSwapWorld(w), []);
}
