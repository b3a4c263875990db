/**
 * The scenarios pvnet ships, registered in the order `pvnet scenarios` lists them.
 */
import { registerScenario } from './registry.ts';
import { ringWalkthroughScenario } from './ring-walkthrough.ts';
import { txBasicScenario } from './tx-basic.ts';
import { cloneStormScenario } from './clone-storm.ts';
import { pullAndSplitScenario } from './pull-and-split.ts';
import { nfsRetransmitScenario } from './nfs-retransmit.ts';
import { guestReuseScenario } from './guest-reuse.ts';
import { swapOverNetworkScenario } from '../swap/scenario.ts';

registerScenario(ringWalkthroughScenario);
registerScenario(txBasicScenario);
registerScenario(cloneStormScenario);
registerScenario(pullAndSplitScenario);
registerScenario(nfsRetransmitScenario);
registerScenario(guestReuseScenario);
registerScenario(swapOverNetworkScenario);

export { allScenarios, scenarioByName, registerScenario, scenarioResult, check } from './registry.ts';
export type { Scenario, ScenarioOptions, ScenarioResult, InvariantCheck, TraceEvent } from './registry.ts';
