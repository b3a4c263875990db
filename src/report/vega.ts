/**
 * Headless Vega-Lite rendering for the showcase report: spec → SVG document through vega, no browser, no
 * canvas (text widths are vega's estimates). The chart builders (showcase-charts.ts, timeline.ts) stay pure.
 */

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Render a Vega-Lite spec to an SVG document (with a white background, so it reads in any viewer). */
export async function specToSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile({ background: 'white', ...spec } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
