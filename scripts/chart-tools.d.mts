// Types for chart-tools.mjs, so the TypeScript chart specs can import it.

/** A rendered Kubernetes object; fields beyond these are untyped (narrow with kubernetes-models' interfaces). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: any };
  [key: string]: any;
}

export interface ValuesOptions {
  /** Chart folder; defaults to CHART_DIR. */
  chartDir?: string;
  /** Values files; relative paths are relative to the chart (e.g. 'ci/embedded-values.yaml'). */
  valuesFiles?: string[];
  /** Passed as `--set-json key=<JSON of value>`; keys use helm's path syntax (escape a dot in a key as '\\.'). */
  set?: Record<string, unknown>;
  /** Passed as `--set-string key=value`. */
  setString?: Record<string, string | number | boolean>;
}

export interface RenderOptions extends ValuesOptions {
  namespace?: string;
  releaseName?: string;
  /** Template path(s) for `--show-only`, e.g. 'templates/deployment.yaml'. */
  showOnly?: string | string[];
}

export declare const CHART_DIR: string;
export declare function scenarioFiles(chartDir?: string): string[];
export declare function lintChart(options?: ValuesOptions): { ok: boolean; output: string };
export declare function renderChart(options?: RenderOptions): { objects: KubeObject[]; sources: (string | undefined)[] };
export declare function renderNotes(options?: Omit<RenderOptions, 'showOnly'>): string;
export declare function describe(object: unknown): string;
export declare function validateObject(object: unknown): Promise<void>;
export declare function findProblems(objects: unknown[], sources?: (string | undefined)[]): Promise<string[]>;
