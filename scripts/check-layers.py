#!/usr/bin/python3
"""The layers of src/ and what each may include.

Each folder of src/ is a layer, and a layer includes only headers of
its own and of lower layers:

    lib <- directory <- store <- {lmtp, imap, notify, admin, cluster}
        <- daemon

and the CLI (client) uses lib, directory, store (for deliver),
notify's pure protocol library (for watch) and the cluster's NATS
connection (for `mailbell cluster`). Outside the store, only
its public headers are included: store/store.h, and store/message.h
(a parsed message, for IMAP's FETCH and SEARCH).

Two things use the table below:

  check-layers.py [--src DIR]
      reads every #include "x/..." in the .c and .h files under DIR
      (default: src/ beside this script) and exits 1, naming each one,
      if an include points up or sideways, into a folder that is no
      layer, or out of the src root ("../"), and names any library in
      a layer's meson.build given the whole src root (`inc`) instead
      of its layer's include folder. Run by `meson test` in the
      'layers' suite.

  check-layers.py --include-tree OUT [--src DIR]
      makes OUT/<layer>/ for every layer, holding a symlink to each
      folder (or single header) the layer may include, and prints the
      layer names. meson.build runs this at configure time and gives
      each layer's static_library only -I OUT/<layer>, so an include the
      table does not allow fails to compile, as well as failing here.
"""

import argparse
import fnmatch
import os
import re
import shutil
import sys

# What each layer may include, lowest layer first. A folder name allows
# every header of src/<folder>; "folder/file.h" allows that header alone.
# A layer may always include its own folder.
LAYERS = {
    "lib": [],
    "directory": ["lib"],
    "store": ["lib", "directory"],
    "lmtp": ["lib", "directory", "store/store.h"],
    "imap": ["lib", "directory", "store/store.h", "store/message.h"],
    "notify": ["lib", "directory", "store/store.h"],
    "admin": ["lib", "directory", "store/store.h"],
    "cluster": ["lib", "directory", "store/store.h"],
    "daemon": ["lib", "directory", "store/store.h", "lmtp", "imap",
               "notify", "admin", "cluster"],
    "client": ["lib", "directory", "store/store.h",
               "notify/notify-proto.h", "cluster/cluster-nats.h",
               "cluster/cluster-wire.h"],
}

# Includes the table above forbids that the tree still has, each with
# why, allowed until the code stops needing them. Remove an entry as
# soon as the check reports it unused.
EXCEPTIONS = {}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]*)"')
# A layer's meson.build handing a library the whole src root.
SRC_ROOT_RE = re.compile(r"include_directories\s*:\s*\[?\s*inc\b")


def allowed(layer, target):
    """Whether a file of layer may #include "target"."""
    top = target.split("/", 1)[0]
    if top == layer:
        return True
    for rule in LAYERS[layer]:
        if rule == top or rule == target:
            return True
    return (layer, target) in EXCEPTIONS


def source_files(src):
    """(layer, path) of every .c and .h file under src, sorted."""
    for layer in sorted(os.listdir(src)):
        top = os.path.join(src, layer)
        if not os.path.isdir(top):
            continue
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                if fnmatch.fnmatch(name, "*.[ch]"):
                    yield layer, os.path.join(root, name)


def check(src):
    """Print each include that breaks the layers; return their count."""
    bad = 0
    used = set()
    unknown = sorted(d for d in os.listdir(src)
                     if os.path.isdir(os.path.join(src, d)) and
                     d not in LAYERS)
    for d in unknown:
        print(f"{os.path.join(src, d)}: a folder that is no layer: "
              f"add it to LAYERS in {os.path.basename(__file__)}")
        bad += 1
    for layer, path in source_files(src):
        if layer not in LAYERS:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if m is None:
                    continue
                target = m.group(1)
                if "/" not in target:
                    continue  # beside the file: its own layer
                where = f"{path}:{lineno}"
                top = target.split("/", 1)[0]
                if top in (".", "..") or target.startswith("/"):
                    print(f'{where}: "{target}" leaves the src root: '
                          f'include "layer/file.h"')
                    bad += 1
                elif top not in LAYERS:
                    print(f'{where}: "{target}" is in no layer')
                    bad += 1
                elif not allowed(layer, target):
                    may = ", ".join([layer] + LAYERS[layer])
                    print(f'{where}: {layer} may not include "{target}" '
                          f"(it may include: {may})")
                    bad += 1
                elif (layer, target) in EXCEPTIONS:
                    used.add((layer, target))
    for layer in sorted(LAYERS):
        build = os.path.join(src, layer, "meson.build")
        if not os.path.isfile(build):
            continue
        with open(build, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if SRC_ROOT_RE.search(line):
                    print(f"{build}:{lineno}: a library of {layer} is "
                          f"given the whole src root: use "
                          f"layer_inc['{layer}']")
                    bad += 1
    for layer, target in sorted(set(EXCEPTIONS) - used):
        print(f'note: {layer} no longer includes "{target}": remove its '
              f"exception from {os.path.basename(__file__)}")
    return bad


def link(target, name):
    os.makedirs(os.path.dirname(name), exist_ok=True)
    os.symlink(target, name)


def include_tree(src, out):
    """Make out/<layer>/ with what the layer may include; print names."""
    src = os.path.abspath(src)
    if os.path.isdir(out):
        shutil.rmtree(out)
    for layer, rules in LAYERS.items():
        tree = os.path.join(out, layer)
        os.makedirs(tree)
        files = [r for r in rules if "/" in r]
        files += [t for (l, t) in EXCEPTIONS if l == layer]
        for rule in [layer] + [r for r in rules if "/" not in r]:
            link(os.path.join(src, rule), os.path.join(tree, rule))
        for rule in files:
            link(os.path.join(src, rule), os.path.join(tree, rule))
        print(layer)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src",
                    default=os.path.normpath(os.path.join(here, "..", "src")),
                    help="the src root (default: %(default)s)")
    ap.add_argument("--include-tree", metavar="OUT",
                    help="make the per-layer include folders in OUT")
    args = ap.parse_args()
    if args.include_tree is not None:
        include_tree(args.src, args.include_tree)
        return 0
    bad = check(args.src)
    if bad:
        print(f"{bad} place(s) break the layers")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
