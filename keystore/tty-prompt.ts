// Interactive prompts on a terminal for the CLI: hidden passphrase entry and yes/no confirmation.
// Never echoes what is typed for secrets.
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { KeystoreError } from "./errors.js";

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/** Reads one line from the terminal without echoing it. */
export function askHidden(question: string): Promise<string> {
  if (!isInteractive()) {
    return Promise.reject(new KeystoreError("PROVIDER", "no terminal to ask for the passphrase"));
  }
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    });
    muted = true;
  });
}

/** Asks twice and insists both entries match (for new passphrases). */
export async function askNewPassphrase(question: string): Promise<string> {
  for (let i = 0; i < 3; i++) {
    const a = await askHidden(question);
    if (a.length < 8) {
      process.stderr.write("the passphrase must have at least 8 characters\n");
      continue;
    }
    const b = await askHidden("Repeat it: ");
    if (a === b) return a;
    process.stderr.write("the two entries differ; try again\n");
  }
  throw new KeystoreError("CONFIG", "no matching passphrase entered");
}

export function askLine(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer.trim());
    });
  });
}
