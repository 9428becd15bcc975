#!/usr/bin/python3
"""Run a command on a new pseudo-terminal, answering prompts in order.

usage: tty_drive.py 'PROMPT=ANSWER' ... -- COMMAND ARGS...
Prints everything the command wrote to the terminal; exits with its status.
"""
import os
import pty
import select
import sys

split = sys.argv.index("--")
answers = [a.split("=", 1) for a in sys.argv[1:split]]
cmd = sys.argv[split + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.environ.pop("RXLEDGER_PASSPHRASE", None)
    os.execvp(cmd[0], cmd)
seen = b""
while True:
    r, _, _ = select.select([fd], [], [], 20)
    if not r:
        print("tty_drive: timed out waiting for output", file=sys.stderr)
        os.kill(pid, 9)
        sys.exit(99)
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    if answers and answers[0][0].encode() in seen:
        prompt, answer = answers.pop(0)
        seen = seen.split(prompt.encode(), 1)[1]
        sys.stdout.write(prompt + "\n")
        os.write(fd, answer.encode() + b"\n")
    else:
        sys.stdout.write(chunk.decode(errors="replace"))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
