// A real OpenTelemetry JS SDK client: OTLP/HTTP JSON (the only real OTLP/JSON sender, CLIENTS.md 2b).
// Usage: node otel_send.mjs --endpoint http://host:port/v1/logs -n N [--run-id R]
// Prints one JSON line {"ok": exported, "failed": n}.
import { LoggerProvider, BatchLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { SeverityNumber } from "@opentelemetry/api-logs";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const endpoint = opt("--endpoint");
const n = Number(opt("-n", "10"));
const runId = opt("--run-id", "js");

const inner = new OTLPLogExporter({ url: endpoint });
let ok = 0;
let failed = 0;
const counting = {
  export(records, done) {
    inner.export(records, (result) => {
      if (result.code === 0) ok += records.length;
      else failed += records.length;
      done(result);
    });
  },
  shutdown: () => inner.shutdown(),
  forceFlush: () => inner.forceFlush(),
};
const processor = new BatchLogRecordProcessor({
  exporter: counting,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 200,
  maxQueueSize: Math.max(2048, n),
});
const provider = new LoggerProvider({
  resource: resourceFromAttributes({ "service.name": "js-e2e" }),
  processors: [processor],
});
const logger = provider.getLogger("js_send", "2.0.0");
for (let i = 0; i < n; i++) {
  logger.emit({
    timestamp: 1_700_000_000_000 + i,
    severityNumber: SeverityNumber.WARN,
    severityText: "WARN",
    body: `js record ${i} é中`,
    attributes: { "test.run_id": runId, "test.seq": i, "test.ratio": i / 4, "test.flag": true },
  });
}
await provider.forceFlush();
await provider.shutdown();
console.log(JSON.stringify({ ok, failed }));
