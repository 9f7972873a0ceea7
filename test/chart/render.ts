// Helpers for the Helm chart specs (*.chart-spec.ts): render the chart with some values and pick objects out of it.
// Rendering is synchronous so that specs can render while Jest collects them (describe.each over rendered objects).
import { describe as describeObject, findProblems, renderChart } from '../../scripts/chart-tools.mjs';
import type { KubeObject, RenderOptions } from '../../scripts/chart-tools.mjs';

export type { KubeObject, RenderOptions };

/** The objects `helm template` renders with these options (values files are relative to the chart); throws with helm's error if it fails. */
export function render(options: RenderOptions = {}): { objects: KubeObject[] } {
  return { objects: renderChart(options).objects };
}

/** helm's error output (stderr) for options the chart must refuse; throws if the chart rendered anyway. */
export function renderError(options: RenderOptions = {}): string {
  let objects: KubeObject[];
  try {
    ({ objects } = renderChart(options));
  } catch (error) {
    if (error instanceof Error && 'stderr' in error) return String(error.stderr);
    throw error;
  }
  throw new Error(`expected helm template to fail, but it rendered ${objects.map(describeObject).join(', ') || 'nothing'}`);
}

/** Checks rendered objects against the Kubernetes schemas (unknown fields, missing names and duplicates too); throws listing every problem. */
export async function expectValid(objects: KubeObject[]): Promise<void> {
  const problems = await findProblems(objects);
  if (problems.length > 0) throw new Error(`invalid rendered objects:\n- ${problems.join('\n- ')}`);
}

/** NOTES.txt as `helm install` prints it with these options. */
export { renderNotes as notes } from '../../scripts/chart-tools.mjs';
