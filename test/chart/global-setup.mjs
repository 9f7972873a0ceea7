// Jest globalSetup of the `chart` project: obtains helm once before the chart specs run, not once per spec file.
import { ensureHelm } from '../../scripts/helm.mjs';

/** Makes sure helm is cached and hands its path to the test workers through HELM_BIN. */
export default async function globalSetup() {
  process.env.HELM_BIN = await ensureHelm();
}
