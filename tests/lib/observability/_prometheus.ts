/** Reads `/metrics` through a real Prometheus text parser and looks samples up by name and labels. */
import parsePrometheusTextFormat from "parse-prometheus-text-format";

interface Sample {
  value?: string;
  count?: string;
  sum?: string;
  labels?: Record<string, string>;
}

export interface Family {
  name: string;
  type: string;
  metrics: Sample[];
}

export class Scrape {
  readonly families: Family[];

  constructor(text: string) {
    // The parser groups only unlabelled histograms; read labelled ones as their plain `_bucket`, `_sum` and
    // `_count` series instead.
    this.families = parsePrometheusTextFormat(
      text.replace(/^# TYPE (\S+) histogram$/gm, "# TYPE $1 untyped"),
    ) as Family[];
  }

  family(name: string): Family | undefined {
    return this.families.find((f) => f.name === name);
  }

  /** The sample whose labels include `labels` exactly once; its value (or a histogram's count). */
  value(name: string, labels: Record<string, string> = {}): number {
    const matching = (this.family(name)?.metrics ?? []).filter((m) =>
      Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)
    );
    if (matching.length === 0) return 0;
    return matching.reduce((sum, m) => sum + Number(m.value ?? m.count), 0);
  }

  /** Every label set of a metric with a non-zero value. */
  series(name: string): Array<Record<string, string>> {
    return (this.family(name)?.metrics ?? []).filter((m) => Number(m.value ?? m.count) !== 0)
      .map((m) => m.labels ?? {});
  }
}
