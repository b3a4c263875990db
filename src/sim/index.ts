/**
 * sim/: how pvnet runs things. The discrete-event Scheduler (virtual time) and the seeded Prng are the only
 * sources of time and randomness; World builds the standard machine (hypervisor, dom0 stack and bridge, guests
 * with netfront on netback vifs) that scenarios, the showcase and the benchmarks share; scenarios register by
 * name and run through `pvnet run`. Contract: the same options and seed give the same run, byte for byte.
 */

export { Scheduler } from './scheduler.ts';
export type { Callback } from './scheduler.ts';
export { Prng } from './prng.ts';
export { runRingWalkthrough } from './ring-walkthrough.ts';
export type { WalkthroughResult } from './ring-walkthrough.ts';
export {
  World, WorldGuest, WorldHost, LifecycleTracer, TxPacket, TxSlot, checkTrace, skbTag, frameBytes, liveRefs,
  DOM0_MAC, DOM0_ADDR, guestMac, guestAddr, hostMac, hostAddr,
} from './world.ts';
export type {
  WorldOptions, HostOptions, SendOptions, WorldCounters, TeardownReport, PcapSink, TraceCheck,
} from './world.ts';
export { allScenarios, scenarioByName, registerScenario, scenarioResult, check } from './scenarios/index.ts';
export type { Scenario, ScenarioOptions, ScenarioResult, InvariantCheck, TraceEvent } from './scenarios/index.ts';
