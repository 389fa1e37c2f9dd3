#!/usr/bin/env python3
"""Document a library with rustdoc against the dependencies a build just compiled.

`cargo doc` type-checks every dependency again (check mode) before rustdoc runs, which costs as
much as a quarter of a cold native build on 2 cores. The test build has already compiled every
dependency, so this script takes the compiler command cargo printed for the library (`cargo
build -v`, read from LOG) and runs rustdoc with the same crate name, edition, features, cfgs,
library paths and `--extern`s, plus RUSTDOCFLAGS. Exit 3 when LOG holds no such command (the
library was fresh): the caller falls back to `cargo doc`.

    doc-from-build.py LOG CRATE OUT_DIR
"""

import os
import re
import shlex
import subprocess
import sys

# Arguments rustdoc takes as rustc does (flag with its value).
KEEP_WITH_VALUE = {"--crate-name", "--edition", "--crate-type", "--cfg", "--check-cfg", "-L",
                   "--extern", "--cap-lints"}


def command_of(log: str, crate: str):
    """The environment and arguments of the last `Running` rustc line for CRATE's library."""
    found = None
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r"Running `(.*)`\s*$", line)
            if not m:
                continue
            words = shlex.split(m.group(1))
            if "--crate-name" not in words or "--crate-type" not in words:
                continue
            name = words[words.index("--crate-name") + 1]
            kind = words[words.index("--crate-type") + 1]
            if name == crate and kind == "lib" and "--test" not in words:
                found = words
    if found is None:
        return None
    env, rest = {}, found
    while rest and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", rest[0]):
        key, value = rest[0].split("=", 1)
        env[key] = value
        rest = rest[1:]
    # Past the compiler (rustc, or a wrapper such as clippy-driver followed by rustc).
    while rest and not rest[0].startswith("-"):
        if rest[0].endswith(".rs"):
            break
        rest = rest[1:]
    return env, rest


def rustdoc_args(args, out_dir):
    kept, i = [], 0
    while i < len(args):
        a = args[i]
        if a.endswith(".rs") and not a.startswith("-"):
            kept.append(a)
        elif a in KEEP_WITH_VALUE:
            kept += [a, args[i + 1]]
            i += 1
        elif any(a.startswith(f"{k}=") for k in KEEP_WITH_VALUE):
            kept.append(a)
        elif a in ("-C", "--emit", "--out-dir", "--error-format", "--json", "--diagnostic-width"):
            i += 1  # codegen and output options: not rustdoc's
        i += 1
    return kept + ["-o", out_dir]


def main():
    log, crate, out_dir = sys.argv[1:4]
    command = command_of(log, crate)
    if command is None:
        print(f"doc-from-build: no compiler command for {crate} in {log}", file=sys.stderr)
        return 3
    env, args = command
    full = ["rustdoc", *rustdoc_args(args, out_dir),
            *shlex.split(os.environ.get("RUSTDOCFLAGS", ""))]
    return subprocess.run(full, env={**os.environ, **env}).returncode


if __name__ == "__main__":
    sys.exit(main())
