import { setHandler } from '@temporalio/workflow';
import {
  approvalAttemptsQuery,
  approvalSignal,
  controlSignal,
  controlUpdate,
  decideApprovalUpdate,
  pendingApprovalsQuery,
  runStateQuery,
} from '../contract';
import type { ApprovalGate } from './approval-gate';
import type { Interrupts } from './interrupts';
import type { RunState } from './state';

/**
 * Wires a run's messages (src/workflows/contract.ts) to the objects that own them: approvals to the
 * gate, controls to the interrupts, queries to the state. Handlers are thin and never throw; signal and
 * update do the same thing, the update also answering with what was recorded.
 */
export function registerRunHandlers(run: { state: RunState; gate: ApprovalGate; interrupts: Interrupts }): void {
  // The payload types are what senders should send; the handlers parse whatever actually arrives.
  setHandler(approvalSignal, (raw: unknown) => void run.gate.decide(raw));
  setHandler(decideApprovalUpdate, (raw: unknown) => run.gate.decide(raw));
  setHandler(controlSignal, (raw: unknown) => void run.interrupts.request(raw));
  setHandler(controlUpdate, (raw: unknown) => run.interrupts.request(raw));
  setHandler(pendingApprovalsQuery, () => run.gate.waitingFor());
  setHandler(approvalAttemptsQuery, (requestId?: string) => run.gate.attemptsFor(requestId));
  setHandler(runStateQuery, () => run.state);
}
