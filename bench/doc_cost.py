"""What a keystroke costs a live pad in memory: the yardstick of the soak's RSS slopes.

    .venv/bin/python bench/doc_cost.py [--pads 20] [--typists 4] [--keystrokes 600]

A node's memory grows while people type, because a live pad's document holds every character
typed and who typed it; a soak must tell that from a leak. This process types the soak's
markers (`#<seq>#`, each typist at the end of its own text) into `pads` documents through the
server's own `DocChanges`, which applies a client's update and marks its author as a node does,
and prints, as JSON, how much its RSS grew per keystroke. The typists' own documents are
measured alone and taken off. Each measurement runs in a fresh process, so that no memory
freed before is reused in it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
from typing import Any

from procstats import rss_bytes
from pycrdt import Doc, Text
from summitpad.doc_changes import DocChanges
from summitpad.pad_export import TEXT_NAME


def _type(pads: int, typists: int, keystrokes: int, server: bool) -> tuple[int, int]:
    """RSS growth and encoded size of the pads after typing, with or without the server side."""
    docs = []
    for _ in range(pads):
        doc: Doc[Any] = Doc()
        docs.append((doc, DocChanges(doc, doc.get(TEXT_NAME, type=Text))))
    clients: list[list[Doc[Any]]] = [[Doc() for _ in range(typists)] for _ in range(pads)]
    texts = [[c.get(TEXT_NAME, type=Text) for c in pad] for pad in clients]
    gc.collect()
    before = rss_bytes(os.getpid())
    seq = 0
    for _ in range(keystrokes):
        for p in range(pads):
            for i, client in enumerate(clients[p]):
                seq += 1
                state = client.get_state()
                texts[p][i].insert(len(texts[p][i]), f"#{seq}#")
                if server:
                    docs[p][1].apply_client_update(client.get_update(state), f"author-{p}-{i}")
    gc.collect()
    grown = rss_bytes(os.getpid()) - before
    return grown, sum(len(doc.get_update()) for doc, _ in docs)


def measure(pads: int, typists: int, keystrokes: int) -> dict[str, Any]:
    """Bytes of RSS and of encoded state a keystroke adds to a live pad (each pass in a
    process of its own)."""

    def one(server: bool) -> tuple[int, int]:
        argv = [sys.executable, __file__, "--pads", str(pads), "--typists", str(typists),
                "--keystrokes", str(keystrokes), "--pass", "server" if server else "clients"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        grown, encoded = json.loads(out)
        return int(grown), int(encoded)

    clients_only, _ = one(server=False)
    both, encoded = one(server=True)
    typed = pads * typists * keystrokes
    return {
        "pads": pads,
        "keystrokes": typed,
        "rss_bytes_per_keystroke": round(max(0, both - clients_only) / typed, 1),
        "encoded_bytes_per_keystroke": round(encoded / typed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pads", type=int, default=20)
    parser.add_argument("--typists", type=int, default=4)
    parser.add_argument("--keystrokes", type=int, default=600, help="per typist")
    parser.add_argument("--pass", dest="one", choices=("server", "clients"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_type(args.pads, args.typists, args.keystrokes, args.one == "server")))
    else:
        print(json.dumps(measure(args.pads, args.typists, args.keystrokes)))


if __name__ == "__main__":
    main()
