#!/usr/bin/python3
"""Tests for check-layers.py: it passes a tree that keeps the layers,
fails each kind of bad include in a small made-up tree, and the build's
per-layer include folders hold exactly what the table allows.

    test-check-layers.py [LAYER_INCLUDE_DIR]

With the build's layer-include folder as argument, that folder is
checked against src/ too.
"""

import importlib.util
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "check-layers.py")
SRC = os.path.join(HERE, "..", "src")

spec = importlib.util.spec_from_file_location("check_layers", SCRIPT)
layers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(layers)

failures = 0


def expect(cond, what):
    global failures
    if not cond:
        print(f"FAIL: {what}")
        failures += 1


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(text)


# A small tree that keeps the layers.
GOOD = {
    "lib/buf.h": "",
    "directory/directory.h": '#include "lib/buf.h"\n',
    "store/store.h": '#include "lib/buf.h"\n',
    "store/store-private.h": '#include "store/store.h"\n',
    "store/store.c": '#include "store/store-private.h"\n'
                     '#include "directory/directory.h"\n',
    "imap/imap.h": "",
    "imap/imap-session.c": '#include "imap/imap.h"\n#include "imap.h"\n'
                           '#include <stdio.h>\n#include "store/store.h"\n',
    "notify/notify-proto.h": "",
    "client/main.c": '#include "notify/notify-proto.h"\n'
                     '#include "store/store.h"\n',
    "daemon/main.c": '#include "imap/imap.h"\n#include "store/store.h"\n',
    "store/meson.build": "store_lib = static_library('mb-store', 'store.c',\n"
                         "  include_directories: layer_inc['store'])\n",
}

# Each bad include (file, text) with a word the report must hold.
BAD = [
    ("lib/log.c", '#include "store/store.h"\n', "lib may not include"),
    ("store/store.c", '#include "imap/imap.h"\n', "store may not include"),
    ("imap/cmd-xbell.c", '#include "notify/notify-proto.h"\n',
     "imap may not include"),
    ("imap/cmd-fetch.c", '#include "store/store-private.h"\n',
     "imap may not include"),
    ("client/main.c", '#include "daemon/privdrop.h"\n',
     "client may not include"),
    ("client/cmd-watch.c", '#include "notify/notify-registry.h"\n',
     "client may not include"),
    ("imap/cmd-noop.c", '#  include "../store/store-private.h"\n',
     "leaves the src root"),
    ("imap/cmd-noop.c", '#include "extra/x.h"\n', "is in no layer"),
    ("extra/x.c", "", "a folder that is no layer"),
    ("imap/meson.build", "imap_lib = static_library('mb-imap', 'x.c',\n"
     "  include_directories: inc)\n", "given the whole src root"),
]


def run_check(src):
    p = subprocess.run([sys.executable, SCRIPT, "--src", src],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def make_tree(root, extra=None):
    for path, text in GOOD.items():
        write(root, path, text)
    if extra is not None:
        write(root, extra[0], extra[1])


def test_good_tree():
    with tempfile.TemporaryDirectory() as root:
        make_tree(root)
        rc, out = run_check(root)
        expect(rc == 0, f"a good tree passes (got {rc}: {out})")


def test_bad_trees():
    for path, text, word in BAD:
        with tempfile.TemporaryDirectory() as root:
            make_tree(root, (path, text))
            rc, out = run_check(root)
            expect(rc == 1, f"{path}: {text.strip()!r} fails "
                   f"(got {rc}: {out})")
            expect(word in out, f"{path}: report says {word!r} ({out})")
            line = 2 if path.endswith("meson.build") else 1
            if word != "a folder that is no layer":
                expect(f"{path}:{line}:" in out,
                       f"{path}: report names the line ({out})")


def test_table():
    # Every layer's rules name layers listed before it: the graph has
    # no cycle and no upward edge.
    seen = []
    for layer, rules in layers.LAYERS.items():
        for rule in rules:
            top = rule.split("/", 1)[0]
            expect(top in seen, f"{layer} may include {rule}, "
                   f"which is not below it")
        seen.append(layer)


def headers(src):
    for layer in sorted(os.listdir(src)):
        top = os.path.join(src, layer)
        if os.path.isdir(top):
            for name in sorted(os.listdir(top)):
                if name.endswith(".h"):
                    yield layer + "/" + name


def check_tree(src, tree):
    """tree/<layer> offers exactly the headers the layer may include."""
    for layer in layers.LAYERS:
        for h in headers(src):
            there = os.path.exists(os.path.join(tree, layer, h))
            expect(there == layers.allowed(layer, h),
                   f"{tree}/{layer}: {h} is "
                   f"{'there' if there else 'missing'}")


def test_include_tree():
    # A fresh tree from the real src/, and the build's own if given.
    with tempfile.TemporaryDirectory() as out:
        tree = os.path.join(out, "layer-include")
        subprocess.run([sys.executable, SCRIPT, "--src", SRC,
                        "--include-tree", tree], check=True,
                       capture_output=True)
        check_tree(SRC, tree)
    if len(sys.argv) > 1:
        check_tree(SRC, sys.argv[1])


test_good_tree()
test_bad_trees()
test_table()
test_include_tree()
if failures:
    print(f"{failures} failure(s)")
    sys.exit(1)
print("ok")
