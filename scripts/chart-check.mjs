// `npm run test:chart` runs this first: lints the Helm chart and validates every object it renders, for the default
// values and for each ci/*-values.yaml scenario, against the Kubernetes schemas (no cluster needed).
// Usage: node scripts/chart-check.mjs [chartDir]   (default: helm/concur-launch-connector)
import { relative, resolve } from 'node:path';
import { CHART_DIR, findProblems, lintChart, renderChart, scenarioFiles } from './chart-tools.mjs';
import { ensureHelm } from './helm.mjs';

/** Lints and renders the chart with one values file and validates what it renders; returns `{ line, problems }` with every problem found. */
async function checkScenario(chartDir, scenario) {
  const problems = [];
  const lint = lintChart({ chartDir, valuesFiles: [scenario] });
  if (!lint.ok) problems.push(`helm lint --strict failed:\n${lint.output}`);
  let rendered;
  try {
    rendered = renderChart({ chartDir, valuesFiles: [scenario] });
  } catch (error) {
    return { problems: [...problems, error.message] };
  }
  const { objects, sources } = rendered;
  if (objects.length === 0) problems.push('renders no objects');
  problems.push(...(await findProblems(objects, sources)));
  const kinds = [...new Set(objects.map((object) => object.kind))].sort().join(', ');
  return { line: `lint ok, ${objects.length} objects valid (${kinds})`, problems };
}

/** Indents every line of a block of text by four spaces. */
function indent(text) {
  return text.replace(/^/gm, '    ');
}

/** Checks the chart; prints one line per scenario, the problems of failing ones, and returns the process exit code. */
async function main(chartDir) {
  const fromHere = relative(process.cwd(), chartDir);
  const name = fromHere && !fromHere.startsWith('..') ? fromHere : chartDir;
  const scenarios = scenarioFiles(chartDir);
  if (scenarios.length === 0) {
    console.error(`${name}: no ci/*-values.yaml scenarios: add at least one so the chart is rendered and validated`);
    return 1;
  }
  let failed = false;
  // helm lint reports a template's `fail` as INFO, so the defaults are also rendered: they must be refused with the
  // chart's own message (no tenants, no secrets), not by a template error.
  const defaults = lintChart({ chartDir });
  let refusal;
  try {
    renderChart({ chartDir });
  } catch (error) {
    refusal = error.message;
  }
  if (!defaults.ok) {
    failed = true;
    console.error(`${name} (default values): helm lint --strict failed:\n${indent(defaults.output)}`);
  } else if (refusal === undefined || !refusal.includes('these values cannot work')) {
    failed = true;
    console.error(`${name} (default values): expected the chart to refuse them with "these values cannot work", got ${refusal ? `:\n${indent(refusal)}` : 'a render'}`);
  } else console.log(`${name} (default values): lint ok, refused with the chart's message (no tenants, no secrets)`);
  for (const scenario of scenarios) {
    const { line, problems } = await checkScenario(chartDir, scenario);
    if (problems.length === 0) console.log(`${scenario}: ${line}`);
    else {
      failed = true;
      console.error(`${scenario}: FAILED\n${problems.map((problem) => indent(`- ${problem.replace(/\n/g, '\n  ')}`)).join('\n')}`);
    }
  }
  return failed ? 1 : 0;
}

try {
  await ensureHelm();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
process.exitCode = await main(process.argv[2] ? resolve(process.argv[2]) : CHART_DIR);
