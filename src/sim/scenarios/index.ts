/**
 * The scenarios pvnet ships, registered in the order `pvnet scenarios` lists them.
 */
import { registerScenario } from './registry.ts';
import { ringWalkthroughScenario } from './ring-walkthrough.ts';

registerScenario(ringWalkthroughScenario);

export { allScenarios, scenarioByName, registerScenario, scenarioResult, check } from './registry.ts';
export type { Scenario, ScenarioOptions, ScenarioResult, InvariantCheck, TraceEvent } from './registry.ts';
