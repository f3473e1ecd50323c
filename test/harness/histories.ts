import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

/*
 * Temporal's own historyToJSON/historyFromJSON (@temporalio/common/lib/proto-utils) throw "type must be a
 * Type" in this install: npm nests one protobufjs 8 copy under @temporalio/common and another under
 * @temporalio/proto (a protobufjs 7 from @grpc/proto-loader holds the top level), and protojson checks
 * `instanceof Type` against its own copy. So convert with the protojson of the copy @temporalio/proto's
 * types belong to; the output is the same proto-JSON. Drop this once the copies are deduplicated.
 */
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}
const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
// Resolved from @temporalio/proto's directory on purpose (see above); a static import would pick another copy.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
const historyType = root.lookupType('temporal.api.history.v1.History');

/** A history as proto-JSON text (what `temporal workflow show --output json` writes). */
export function historyToJSON(history: History): string {
  const message = proto.temporal.api.history.v1.History.fromObject(history);
  return JSON.stringify(protojson.toJson(historyType, message), null, 2);
}

/** Parses proto-JSON history (unknown fields from newer servers are ignored). */
export function historyFromJSON(json: unknown): History {
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}

/**
 * Recorded workflow histories replayed by test/workflows/replay.test.ts. Each file is named
 * `<workflowId>.json` (histories do not carry their own workflow id, and Warden derives child ids from it)
 * and holds Temporal's proto-JSON, the format `temporal workflow show --output json` writes too.
 */
export const HISTORIES_DIR = path.resolve(__dirname, '..', 'fixtures', 'histories');

/** One recorded history, parsed. */
export interface RecordedHistory {
  file: string;
  workflowId: string;
  workflowType: string;
  history: History;
}

/** Loads every `*.json` history under {@link HISTORIES_DIR}, sorted by file name. */
export function loadHistories(dir = HISTORIES_DIR): RecordedHistory[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      if (!started?.workflowType?.name) throw new Error(`${file}: the first event is not WorkflowExecutionStarted`);
      return { file, workflowId: file.slice(0, -'.json'.length), workflowType: started.workflowType.name, history };
    });
}

/** Fetches a closed run's full history and writes it as `<workflowId>.json`. */
export async function saveHistory(client: Client, workflowId: string, dir = HISTORIES_DIR): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const file = path.join(dir, `${workflowId}.json`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, `${historyToJSON(history)}\n`);
  return file;
}
