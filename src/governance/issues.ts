import type { z } from 'zod';

/** One line listing every problem zod found, each with its path: "args.host: Required; args.port: …". */
export function formatIssues(error: z.ZodError, root = '(input)'): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : root}: ${i.message}`).join('; ');
}
