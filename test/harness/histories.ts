import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';

/*
 * Histories are stored as Temporal's proto-JSON (what `temporal workflow show --output json` writes).
 * package.json depends on protobufjs 8 directly so npm keeps one copy for @temporalio/proto and
 * @temporalio/common; with two copies, historyFromJSON fails with "type must be a Type".
 */

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
